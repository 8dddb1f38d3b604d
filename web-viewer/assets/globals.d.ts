// What the pages find on `window`: MapLibre GL JS, loaded as a classic script
// (`/assets/maplibre-gl.js`) before their modules run.
interface Window {
  maplibregl: typeof import('maplibre-gl');
}
