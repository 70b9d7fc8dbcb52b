// The area map: boundary polygons and places drawn as SVG on a plain background (map tiles are
// not reachable offline). Every point comes from the server already in one datum (the caller
// asks for lat/lon(datum: …) on boundaries and places alike), so shapes and places line up
// whichever datum is chosen; the projection is a local equirectangular one, exact enough for a
// few kilometres.

import { t } from './i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 1000;
const PAD = 40;
const METRES_PER_DEGREE = 111_320;

function svg(tag, attributes, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, String(value));
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

/**
 * rings: [[{lat, lon}, …], …]; places: [{lat, lon, label, href}].
 * Returns an <svg> sized by CSS (it scales with the page and with zoom).
 */
export function drawMap(rings, places) {
  const points = [...rings.flat(), ...places];
  if (!points.length) return null;
  let minLat = Infinity, maxLat = -Infinity, minLon = Infinity, maxLon = -Infinity;
  for (const p of points) {
    minLat = Math.min(minLat, p.lat); maxLat = Math.max(maxLat, p.lat);
    minLon = Math.min(minLon, p.lon); maxLon = Math.max(maxLon, p.lon);
  }
  const cosLat = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  // Degrees of longitude shrink with latitude; keep at least ~300 m across so one place fits.
  const spanX = Math.max((maxLon - minLon) * cosLat, 0.003);
  const spanY = Math.max(maxLat - minLat, 0.003);
  const scale = (WIDTH - 2 * PAD) / Math.max(spanX, spanY);
  const height = Math.round(spanY * scale + 2 * PAD);
  const x = (lon) => PAD + (lon - minLon) * cosLat * scale + ((WIDTH - 2 * PAD) - spanX * scale) / 2;
  const y = (lat) => PAD + (maxLat - lat) * scale;

  const map = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${height}`,
    class: 'area-map',
    role: 'group',
    'aria-label': t('mapLabel'),
  });
  map.append(svg('rect', { x: 0, y: 0, width: WIDTH, height, class: 'map-ground' }));
  for (const ring of rings) {
    map.append(svg('polygon', { points: ring.map((p) => `${x(p.lon).toFixed(1)},${y(p.lat).toFixed(1)}`).join(' '), class: 'map-area' }));
  }
  for (const place of places) {
    const cx = x(place.lon), cy = y(place.lat);
    const marker = svg('a', { href: place.href, class: 'map-place', 'aria-label': place.label },
      svg('title', {}, place.label),
      svg('circle', { cx: cx.toFixed(1), cy: cy.toFixed(1), r: 9 }),
      svg('text', { x: (cx + 13).toFixed(1), y: (cy + 5).toFixed(1) }, place.label));
    map.append(marker);
  }
  // Scale bar: the round distance nearest a fifth of the width.
  const metresAcross = ((WIDTH - 2 * PAD) / scale) * METRES_PER_DEGREE;
  const steps = [50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];
  const bar = steps.find((m) => m >= metresAcross / 5) || steps[steps.length - 1];
  const barLength = (bar / METRES_PER_DEGREE) * scale;
  map.append(svg('g', { class: 'map-scale' },
    svg('line', { x1: PAD, y1: height - 15, x2: PAD + barLength, y2: height - 15 }),
    svg('text', { x: PAD, y: height - 22 }, bar >= 1000 ? `${bar / 1000} km` : `${bar} m`)));
  map.append(svg('text', { x: WIDTH - PAD, y: 28, class: 'map-north' }, '北 N ↑'));
  return map;
}
