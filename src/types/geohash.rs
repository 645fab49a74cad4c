//! Geohash math as Redis's `geohash.c` and `geohash_helper.c` (7.0): 52-bit interleaved
//! hashes (26 steps per axis), decoding to the cell centre, neighbours, the search areas
//! of a radius or box, and the haversine distance on Redis's earth radius.

/// Most steps (bits per axis).
pub const STEP_MAX: u8 = 26;
/// Longitude limits.
pub const LONG_MIN: f64 = -180.0;
/// Longitude limits.
pub const LONG_MAX: f64 = 180.0;
/// Latitude limits (Web Mercator).
pub const LAT_MIN: f64 = -85.05112878;
/// Latitude limits (Web Mercator).
pub const LAT_MAX: f64 = 85.05112878;

const MERCATOR_MAX: f64 = 20037726.37;
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const D_R: f64 = std::f64::consts::PI / 180.0;

/// A hash of `step` bits per axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashBits {
    /// Interleaved bits (latitude in even positions, longitude in odd).
    pub bits: u64,
    /// Bits per axis.
    pub step: u8,
}

impl HashBits {
    fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

/// A cell: its longitude and latitude ranges.
#[derive(Debug, Clone, Copy, Default)]
pub struct Area {
    /// Longitude range.
    pub lon: (f64, f64),
    /// Latitude range.
    pub lat: (f64, f64),
}

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// Redis's `geohashEncode` over the given latitude range (longitude is always ±180):
/// `None` where Redis returns 0.
pub fn encode_in(lat_range: (f64, f64), lon: f64, lat: f64, step: u8) -> Option<HashBits> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_range.0 || lat > lat_range.1 {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_range.0) / (lat_range.1 - lat_range.0) * scale;
    let lon_off = (lon - LONG_MIN) / (LONG_MAX - LONG_MIN) * scale;
    // C converts the offsets to uint32_t.
    let bits = spread(lat_off as u32) | (spread(lon_off as u32) << 1);
    Some(HashBits { bits, step })
}

/// `geohashEncodeWGS84`.
pub fn encode(lon: f64, lat: f64, step: u8) -> Option<HashBits> {
    encode_in((LAT_MIN, LAT_MAX), lon, lat, step)
}

/// `geohashDecode` with the WGS84 ranges.
pub fn decode(hash: HashBits) -> Area {
    let step = hash.step;
    let ilat = squash(hash.bits);
    let ilon = squash(hash.bits >> 1);
    let div = (1u64 << step) as f64;
    let lat_scale = LAT_MAX - LAT_MIN;
    let lon_scale = LONG_MAX - LONG_MIN;
    Area {
        lat: (
            LAT_MIN + (f64::from(ilat) * 1.0 / div) * lat_scale,
            LAT_MIN + ((f64::from(ilat) + 1.0) * 1.0 / div) * lat_scale,
        ),
        lon: (
            LONG_MIN + (f64::from(ilon) * 1.0 / div) * lon_scale,
            LONG_MIN + ((f64::from(ilon) + 1.0) * 1.0 / div) * lon_scale,
        ),
    }
}

/// The centre of a cell, clamped to the valid ranges (`geohashDecodeAreaToLongLat`).
pub fn area_center(area: &Area) -> (f64, f64) {
    let lon = ((area.lon.0 + area.lon.1) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.lat.0 + area.lat.1) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// A sorted set score as C's `(uint64_t)score` converts it on x86-64.
fn score_bits(score: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if score < TWO63 {
        // cvttsd2si: out of range (or NaN) gives i64::MIN.
        if score >= -TWO63 { score as i64 as u64 } else { i64::MIN as u64 }
    } else {
        let r = score - TWO63;
        let v = if r < TWO63 { r as i64 } else { i64::MIN };
        (v as u64) ^ (1u64 << 63)
    }
}

/// Longitude and latitude of a 52-bit score (`decodeGeohash`).
pub fn decode_score(score: f64) -> (f64, f64) {
    area_center(&decode(HashBits { bits: score_bits(score), step: STEP_MAX }))
}

/// The 52-bit score of a position (`geohashAlign52Bits` of the 26-step hash).
pub fn encode_score(lon: f64, lat: f64) -> u64 {
    encode(lon, lat, STEP_MAX).map_or(0, align52)
}

/// `geohashAlign52Bits`.
pub fn align52(hash: HashBits) -> u64 {
    hash.bits << (52 - u32::from(hash.step) * 2)
}

/// The 11-character standard geohash GEOHASH replies for a score.
pub fn standard_hash(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = decode_score(score);
    let bits = encode_in((-90.0, 90.0), lon, lat, STEP_MAX).map_or(0, |h| h.bits);
    let mut out = [0u8; 11];
    for (i, c) in out.iter_mut().enumerate() {
        let idx = if i == 10 { 0 } else { (bits >> (52 - (i + 1) * 5)) & 0x1f };
        *c = ALPHABET[idx as usize];
    }
    out
}

fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x |= zz;
        x = x.wrapping_sub(zz.wrapping_add(1));
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64.checked_shr(shift).unwrap_or(0);
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        y = y.wrapping_add(zz.wrapping_add(1));
    } else {
        y |= zz;
        y = y.wrapping_sub(zz.wrapping_add(1));
    }
    y &= 0x5555_5555_5555_5555u64.checked_shr(shift).unwrap_or(0);
    hash.bits = x | y;
}

fn moved(hash: HashBits, dx: i8, dy: i8) -> HashBits {
    let mut h = hash;
    move_x(&mut h, dx);
    move_y(&mut h, dy);
    h
}

/// The shape of a search: a circle of `radius` or a `width` × `height` box, in the unit
/// whose size in metres is `conversion`, centred on (`lon`, `lat`).
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Centre longitude.
    pub lon: f64,
    /// Centre latitude.
    pub lat: f64,
    /// Metres per unit.
    pub conversion: f64,
    /// The kind and size.
    pub kind: ShapeKind,
}

/// A circle or a box.
#[derive(Debug, Clone, Copy)]
pub enum ShapeKind {
    /// A circle of this radius.
    Radius(f64),
    /// A box of this width and height.
    Box(f64, f64),
}

fn estimate_steps(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

fn bounding_box(shape: &Shape) -> [f64; 4] {
    let (height, width) = match shape.kind {
        ShapeKind::Radius(r) => (shape.conversion * r, shape.conversion * r),
        ShapeKind::Box(w, h) => (shape.conversion * (h / 2.0), shape.conversion * (w / 2.0)),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(shape.lat + lat_delta).cos());
    let long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(shape.lat - lat_delta).cos());
    let southern = shape.lat < 0.0;
    [
        if southern { shape.lon - long_delta_bottom } else { shape.lon - long_delta_top },
        shape.lat - lat_delta,
        if southern { shape.lon + long_delta_bottom } else { shape.lon + long_delta_top },
        shape.lat + lat_delta,
    ]
}

/// The cells to scan for a search, in Redis's order (centre, N, S, E, W, NE, NW, SE, SW),
/// skipping the useless ones and consecutive duplicates as `membersOfAllNeighbors` does.
pub fn search_cells(shape: &Shape) -> Vec<HashBits> {
    let [min_lon, min_lat, max_lon, max_lat] = bounding_box(shape);
    let radius_meters = match shape.kind {
        ShapeKind::Radius(r) => r,
        ShapeKind::Box(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
    } * shape.conversion;
    let mut steps = estimate_steps(radius_meters, shape.lat);
    let mut hash = encode(shape.lon, shape.lat, steps).unwrap_or_default();
    let north = decode(moved(hash, 0, 1));
    let south = decode(moved(hash, 0, -1));
    let east = decode(moved(hash, 1, 0));
    let west = decode(moved(hash, -1, 0));
    let decrease = north.lat.1 < max_lat || south.lat.0 > min_lat || east.lon.1 < max_lon || west.lon.0 > min_lon;
    if steps > 1 && decrease {
        steps -= 1;
        hash = encode(shape.lon, shape.lat, steps).unwrap_or_default();
    }
    let area = decode(hash);
    // centre, north, south, east, west, north_east, north_west, south_east, south_west
    let mut cells = [
        hash,
        moved(hash, 0, 1),
        moved(hash, 0, -1),
        moved(hash, 1, 0),
        moved(hash, -1, 0),
        moved(hash, 1, 1),
        moved(hash, -1, 1),
        moved(hash, 1, -1),
        moved(hash, -1, -1),
    ];
    if steps >= 2 {
        let zero = HashBits::default();
        if area.lat.0 < min_lat {
            for i in [2, 8, 7] {
                cells[i] = zero;
            }
        }
        if area.lat.1 > max_lat {
            for i in [1, 5, 6] {
                cells[i] = zero;
            }
        }
        if area.lon.0 < min_lon {
            for i in [4, 8, 6] {
                cells[i] = zero;
            }
        }
        if area.lon.1 > max_lon {
            for i in [3, 7, 5] {
                cells[i] = zero;
            }
        }
    }
    let mut out = Vec::with_capacity(9);
    let mut last = 0;
    for i in 0..cells.len() {
        if cells[i].is_zero() {
            continue;
        }
        if last != 0 && cells[i] == cells[last] {
            continue;
        }
        out.push(cells[i]);
        last = i;
    }
    out
}

/// The score range [min, max) of a cell (`scoresOfGeoHashBox`).
pub fn cell_scores(hash: HashBits) -> (u64, u64) {
    let min = align52(hash);
    let max = align52(HashBits { bits: hash.bits.wrapping_add(1), step: hash.step });
    (min, max)
}

/// Haversine distance in metres (`geohashGetDistance`, 7.0).
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lat1r = deg_rad(lat1d);
    let lon1r = deg_rad(lon1d);
    let lat2r = deg_rad(lat2d);
    let lon2r = deg_rad(lon2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_IN_METERS * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// The distance in metres from the shape's centre to (`lon`, `lat`) if the point is inside
/// the shape (`geoWithinShape`).
pub fn within(shape: &Shape, lon: f64, lat: f64) -> Option<f64> {
    match shape.kind {
        ShapeKind::Radius(r) => {
            let d = distance(shape.lon, shape.lat, lon, lat);
            (d <= r * shape.conversion).then_some(d)
        }
        ShapeKind::Box(w, h) => {
            let (w, h) = (w * shape.conversion, h * shape.conversion);
            let lon_distance = distance(lon, lat, shape.lon, lat);
            let lat_distance = distance(lon, lat, lon, shape.lat);
            if lon_distance > w / 2.0 || lat_distance > h / 2.0 {
                return None;
            }
            Some(distance(shape.lon, shape.lat, lon, lat))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palermo() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" stores score 3479099956230698.
        assert_eq!(encode_score(13.361389, 38.115556), 3479099956230698);
        assert_eq!(&standard_hash(3479099956230698.0), b"sqc8b49rny0");
        let (lon, lat) = decode_score(3479099956230698.0);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        let (lon2, lat2) = decode_score(encode_score(15.087269, 37.502669) as f64);
        assert_eq!(format!("{:.4}", distance(lon, lat, lon2, lat2)), "166274.1516");
    }
}
