// The tile encoders live with the Aperio SVS writer the demo uses; tests keep importing them here.
export { encodeAperioRgbTile, encodeYcbcrTile } from '../../workers/demo/svs-jpeg-tiles.js';
