//! Conversions between the three datums phones in China report: WGS-84 (GPS, and what Qiao
//! stores), GCJ-02 (the obfuscated datum every domestic map SDK and WeChat's map use) and BD-09
//! (Baidu's further offset of GCJ-02).
//!
//! The forward GCJ-02 transform is the widely published one; it has no closed-form inverse, so
//! the inverses iterate the forward transform until the residual is far below a millimetre.
//! Outside mainland China GCJ-02 equals WGS-84 (the transform is not applied there).

use serde::{Deserialize, Serialize};

/// A geodetic datum of an input or output point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Datum {
    #[default]
    Wgs84,
    Gcj02,
    Bd09,
}

/// Latitude and longitude in degrees, in some datum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    pub const fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }

    /// Whether the point is on the globe: latitude within ±90°, longitude within ±180°. The one
    /// range rule for every point Qiao takes in (the server's inputs and the seed data alike).
    pub fn is_valid(self) -> bool {
        is_valid_latitude(self.lat) && is_valid_longitude(self.lon)
    }
}

/// A latitude from -90 to 90 degrees; NaN and infinities are out of range.
pub fn is_valid_latitude(lat: f64) -> bool {
    (-90.0..=90.0).contains(&lat)
}

/// A longitude from -180 to 180 degrees; NaN and infinities are out of range.
pub fn is_valid_longitude(lon: f64) -> bool {
    (-180.0..=180.0).contains(&lon)
}

/// Converts `point` from the `from` datum to WGS-84.
pub fn to_wgs84(point: LatLon, from: Datum) -> LatLon {
    match from {
        Datum::Wgs84 => point,
        Datum::Gcj02 => gcj02_to_wgs84(point),
        Datum::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(point)),
    }
}

/// Converts a WGS-84 `point` to the `to` datum.
pub fn from_wgs84(point: LatLon, to: Datum) -> LatLon {
    match to {
        Datum::Wgs84 => point,
        Datum::Gcj02 => wgs84_to_gcj02(point),
        Datum::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(point)),
    }
}

// Krasovsky 1940 ellipsoid, as the GCJ-02 algorithm uses.
const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
const BD_X_PI: f64 = std::f64::consts::PI * 3000.0 / 180.0;

/// Whether GCJ-02 applies: a rough box around mainland China, as the published algorithm uses.
pub fn in_gcj02_region(point: LatLon) -> bool {
    (72.004..=137.8347).contains(&point.lon) && (0.8293..=55.8271).contains(&point.lat)
}

pub fn wgs84_to_gcj02(point: LatLon) -> LatLon {
    if !in_gcj02_region(point) {
        return point;
    }
    use std::f64::consts::PI;
    let x = point.lon - 105.0;
    let y = point.lat - 35.0;
    let mut d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    d_lat += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    d_lat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    d_lat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    d_lon += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    d_lon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    d_lon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad_lat = point.lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    d_lat = (d_lat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    d_lon = (d_lon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    LatLon::new(point.lat + d_lat, point.lon + d_lon)
}

pub fn gcj02_to_wgs84(point: LatLon) -> LatLon {
    invert(point, wgs84_to_gcj02)
}

pub fn gcj02_to_bd09(point: LatLon) -> LatLon {
    let (x, y) = (point.lon, point.lat);
    let z = (x * x + y * y).sqrt() + 0.000_02 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * BD_X_PI).cos();
    LatLon::new(z * theta.sin() + 0.006, z * theta.cos() + 0.0065)
}

pub fn bd09_to_gcj02(point: LatLon) -> LatLon {
    invert(point, gcj02_to_bd09)
}

/// Finds `p` with `forward(p) == target` by fixed-point iteration. The transforms shift points
/// by at most a kilometre and vary slowly, so each step gains several digits; 1e-10 degrees is
/// about 0.01 mm.
fn invert(target: LatLon, forward: fn(LatLon) -> LatLon) -> LatLon {
    let mut guess = target;
    for _ in 0..30 {
        let image = forward(guess);
        let (d_lat, d_lon) = (image.lat - target.lat, image.lon - target.lon);
        guess = LatLon::new(guess.lat - d_lat, guess.lon - d_lon);
        if d_lat.abs() < 1e-10 && d_lon.abs() < 1e-10 {
            break;
        }
    }
    guess
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metres per degree of latitude, close enough to compare residuals.
    const M_PER_DEG: f64 = 111_320.0;

    fn assert_close_m(a: LatLon, b: LatLon, metres: f64) {
        let d_lat = (a.lat - b.lat) * M_PER_DEG;
        let d_lon = (a.lon - b.lon) * M_PER_DEG * a.lat.to_radians().cos();
        let d = (d_lat * d_lat + d_lon * d_lon).sqrt();
        assert!(d <= metres, "{a:?} and {b:?} are {d:.3} m apart, more than {metres} m");
    }

    #[test]
    fn wgs84_tiananmen_matches_its_published_gcj02_point() {
        let gcj = wgs84_to_gcj02(LatLon::new(39.9087, 116.3975));
        assert_close_m(gcj, LatLon::new(39.910103, 116.403744), 0.5);
    }

    #[test]
    fn gcj02_round_trips_below_a_millimetre() {
        for point in [LatLon::new(31.105, 121.355), LatLon::new(26.58, 106.71), LatLon::new(22.54, 114.06)] {
            assert_close_m(gcj02_to_wgs84(wgs84_to_gcj02(point)), point, 0.001);
            assert_close_m(to_wgs84(from_wgs84(point, Datum::Bd09), Datum::Bd09), point, 0.001);
        }
    }

    #[test]
    fn points_are_valid_within_ninety_degrees_of_latitude_and_one_eighty_of_longitude() {
        assert!(LatLon::new(90.0, 180.0).is_valid());
        assert!(LatLon::new(-90.0, -180.0).is_valid());
        assert!(!LatLon::new(90.5, 0.0).is_valid());
        assert!(!LatLon::new(0.0, -180.01).is_valid());
        assert!(!LatLon::new(f64::NAN, 0.0).is_valid());
        assert!(!LatLon::new(0.0, f64::INFINITY).is_valid());
    }

    #[test]
    fn points_outside_china_are_not_shifted() {
        let paris = LatLon::new(48.8566, 2.3522);
        assert_eq!(wgs84_to_gcj02(paris), paris);
        assert_eq!(gcj02_to_wgs84(paris), paris);
    }
}
