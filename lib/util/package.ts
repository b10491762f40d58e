// Where the package is installed, and its version: the one place that knows lib/'s depth.
import path from 'path';

/** The package's root: package.json, wasm/, build/ and prebuilds/ are here. */
export const PACKAGE_ROOT = path.join(__dirname, '..', '..');

/** The package's version, as package.json says. */
export const VERSION: string = require(path.join(PACKAGE_ROOT, 'package.json')).version;
