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
# The app's search: the published NearbyServices (mobile-client-spec/operations/), sent by its
# hash as the app sends it (persisted queries, see mobile-client-spec/README.md). The server
# answers this one directly, without the engine's per-field work (graphql::published).
NEARBY_HASH=$(sha256sum "$(dirname "${BASH_SOURCE[0]}")/../mobile-client-spec/operations/NearbyServices.graphql" | cut -d' ' -f1)
published_body() { # $1 = extra variables (a jq object); radiusMeters 5000 and first 20 unless given
  jq -n --arg hash "$NEARBY_HASH" --argjson lat "$LAT" --argjson lon "$LON" --argjson extra "$1" \
    '{extensions: {persistedQuery: {version: 1, sha256Hash: $hash}},
      variables: ({near: {lat: $lat, lon: $lon}, radiusMeters: 5000, first: 20} + $extra)}'
}
# The same search as a document of its own (fewer fields), which only the engine answers.
nearby_body() { # $1 = extra variables (a jq object)
  jq -n --arg q "$NEARBY" --argjson lat "$LAT" --argjson lon "$LON" --argjson extra "$1" \
    '{query: $q, variables: ({near: {lat: $lat, lon: $lon}, radius: 5000} + $extra)}'
}
