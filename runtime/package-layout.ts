/**
 * Where the runtime package's files are, whether it runs from its TypeScript source
 * (development and tests, through tsx: this file is `runtime/package-layout.ts`) or from its
 * build (`npm start` and the image: `runtime/dist/package-layout.js`). Paths that the source
 * computed from `__dirname` differ by one folder in the build; they are computed here once.
 */
import path from 'node:path';

/** True under tsx (the source), false in the build. */
export const FROM_SOURCE = path.extname(__filename) === '.ts';

/** The package's folder: the one holding its package.json (`runtime/` in this repository). */
export const PACKAGE_ROOT = FROM_SOURCE ? __dirname : path.resolve(__dirname, '..');

/**
 * The contexts bundled with this repository: `contexts/` beside the runtime's source, and the
 * app build's `dist/contexts/` beside a built runtime (`npm run build`). A runtime installed
 * elsewhere finds none there and loads those of `CONTEXTS_DIR`.
 */
export const BUNDLED_CONTEXTS_DIR = FROM_SOURCE ? path.resolve(PACKAGE_ROOT, '..', 'contexts') : path.resolve(PACKAGE_ROOT, '..', 'dist', 'contexts');

/** The browser console's build (`npm run build:console`): `dist/console/` beside the package, the same folder for both. */
export const CONSOLE_DIST = path.resolve(PACKAGE_ROOT, '..', 'dist', 'console');
