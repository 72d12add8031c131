// The tile encoders live with the Aperio SVS writer the demo uses; tests keep importing them here.
export { encodeAperioRgbTile, encodeYcbcrTile } from '../../workers/synthetic/slides/svs-jpeg-tiles.js';
