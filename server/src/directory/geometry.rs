//! Geometry on WGS-84: geodesic distances, polygons, and the unit-sphere embedding the R-tree
//! uses.
//!
//! The R-tree indexes each place as a point on the unit sphere (x, y, z). Straight-line (chord)
//! distance between such points grows monotonically with great-circle distance, so a radius
//! query on the tree is exact on the sphere, with no distortion near the poles or across the
//! antimeridian. Geodesic distances on the ellipsoid differ from spherical ones by under 0.6%,
//! so radius queries pad by 1% and then check the exact geodesic distance.

use geo::{Contains, Coord, Distance, Geodesic, Intersects, LineString, Point, Polygon};
use qiao_schema::datum::LatLon;

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Geodesic distance on the WGS-84 ellipsoid, in metres.
pub fn geodesic_distance_m(a: LatLon, b: LatLon) -> f64 {
    Geodesic.distance(Point::new(a.lon, a.lat), Point::new(b.lon, b.lat))
}

/// The point on the unit sphere.
pub fn unit_vector(point: LatLon) -> [f64; 3] {
    let (lat, lon) = (point.lat.to_radians(), point.lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// Squared chord length on the unit sphere that covers every point within `metres` geodesic
/// distance (padded for the ellipsoid).
pub fn covering_chord_squared(metres: f64) -> f64 {
    let angle = (metres * 1.01 / EARTH_RADIUS_M).min(std::f64::consts::PI);
    let chord = 2.0 * (angle / 2.0).sin();
    chord * chord
}

/// A lower bound, in metres, of the geodesic distance between two points whose unit vectors are
/// `chord_squared` apart.
pub fn geodesic_lower_bound_m(chord_squared: f64) -> f64 {
    let chord = chord_squared.sqrt().min(2.0);
    2.0 * (chord / 2.0).asin() * EARTH_RADIUS_M * 0.99
}

/// A polygon read from GeoJSON (`Polygon`, first ring the exterior, further rings holes).
pub fn parse_polygon(geojson: &str) -> Option<Polygon<f64>> {
    #[derive(serde::Deserialize)]
    struct GeoJsonPolygon {
        #[serde(rename = "type")]
        kind: String,
        coordinates: Vec<Vec<[f64; 2]>>,
    }
    let parsed: GeoJsonPolygon = serde_json::from_str(geojson).ok()?;
    if parsed.kind != "Polygon" {
        return None;
    }
    let mut rings = parsed
        .coordinates
        .into_iter()
        .map(|ring| LineString::from(ring.into_iter().map(|[x, y]| Coord { x, y }).collect::<Vec<_>>()));
    let exterior = rings.next()?;
    if exterior.0.len() < 4 {
        return None;
    }
    Some(Polygon::new(exterior, rings.collect()))
}

/// Whether `point` lies inside `polygon` or on its edge (a point on a boundary belongs to the
/// area: it is somebody's street).
pub fn covers(polygon: &Polygon<f64>, point: LatLon) -> bool {
    polygon.intersects(&Point::new(point.lon, point.lat))
}

/// Whether `point` lies strictly inside `polygon`.
pub fn strictly_contains(polygon: &Polygon<f64>, point: LatLon) -> bool {
    polygon.contains(&Point::new(point.lon, point.lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_degree_of_latitude_at_the_equator_is_about_110_6_km() {
        let d = geodesic_distance_m(LatLon::new(0.0, 0.0), LatLon::new(1.0, 0.0));
        assert!((d - 110_574.0).abs() < 1.0, "{d}");
    }

    #[test]
    fn the_covering_chord_covers_and_the_lower_bound_is_below() {
        let centre = LatLon::new(31.105, 121.355);
        for (lat, lon) in [(31.2, 121.4), (31.0, 121.0), (30.5, 122.0)] {
            let other = LatLon::new(lat, lon);
            let [a, b] = [unit_vector(centre), unit_vector(other)];
            let chord2 = (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2);
            let geodesic = geodesic_distance_m(centre, other);
            assert!(chord2 <= covering_chord_squared(geodesic));
            assert!(geodesic_lower_bound_m(chord2) <= geodesic);
        }
    }

    #[test]
    fn a_point_on_the_edge_is_covered_but_not_strictly_contained() {
        let square = parse_polygon(r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}"#);
        let Some(square) = square else { panic!("the square parses") };
        assert!(covers(&square, LatLon::new(0.5, 0.5)));
        assert!(covers(&square, LatLon::new(0.0, 0.5)));
        assert!(!strictly_contains(&square, LatLon::new(0.0, 0.5)));
        assert!(!covers(&square, LatLon::new(1.5, 0.5)));
    }
}
