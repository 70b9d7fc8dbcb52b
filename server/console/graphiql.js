// Starts GraphiQL (served from the binary, like React and GraphiQL themselves: no CDN).
'use strict';
(function () {
  const fetcher = GraphiQL.createFetcher({ url: '/graphql' });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery:
        '{\n  nearbyServices(near: {lat: 31.105, lon: 121.355}, radiusMeters: 3000, first: 5) {\n' +
        '    edges { distanceMeters node { id name category openNow } }\n  }\n}\n',
    }),
  );
})();
