# The query shapes bench/search.sh and bench/callgrind.sh send (sourced by both, so that they
# measure the same requests). Needs LAT and LON (the search point) set before nearby_body runs.
NEARBY='query($near: GeoPointInput!, $radius: Int!, $categories: [ServiceCategory!], $text: String, $openNow: Boolean) {
  nearbyServices(near: $near, radiusMeters: $radius, categories: $categories, text: $text, openNow: $openNow, first: 20) {
    edges { distanceMeters node { id name category openNow location { lat lon } } }
    pageInfo { hasNextPage endCursor }
    nearestBeyondRadiusMeters
  }
}'
DETAIL='query($id: ID!) {
  service(id: $id) {
    name organization { name }
    locations { location { lat lon } hoursNext7Days { date intervals { opens closes } } }
    phones { number } eligibility { requirements { plainWords } } requiredDocuments
  }
}'
nearby_body() { # $1 = extra variables (a jq object)
  jq -n --arg q "$NEARBY" --argjson lat "$LAT" --argjson lon "$LON" --argjson extra "$1" \
    '{query: $q, variables: ({near: {lat: $lat, lon: $lon}, radius: 5000} + $extra)}'
}
