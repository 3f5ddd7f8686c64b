import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The reference page's files, from the `swagger-ui-dist` package (installed, so the page
 * works without a CDN). Only these names are served: a request names a file of this list,
 * never a path.
 */
export const SWAGGER_UI_FILES = new Map<string, string>([
  ['swagger-ui.css', 'text/css'],
  ['index.css', 'text/css'],
  ['swagger-ui-bundle.js', 'application/javascript'],
  ['swagger-ui-standalone-preset.js', 'application/javascript'],
  ['favicon-16x16.png', 'image/png'],
  ['favicon-32x32.png', 'image/png'],
  ['oauth2-redirect.html', 'text/html'],
  ['oauth2-redirect.js', 'application/javascript'],
]);

const BASE = '/v1/docs';

let distDir: string | undefined;
const swaggerUiDir = () => (distDir ??= dirname(require.resolve('swagger-ui-dist/package.json')));

/** One of {@link SWAGGER_UI_FILES} with its media type, or undefined for any other name. */
export async function readSwaggerUiFile(name: string): Promise<{ type: string; content: Buffer } | undefined> {
  const type = SWAGGER_UI_FILES.get(name);
  if (!type) return undefined;
  return { type, content: await readFile(join(swaggerUiDir(), name)) };
}

/** The page: Swagger UI's styles and scripts from `/v1/docs/…`, started by `swagger-initializer.js`. */
export function docsIndexHtml(): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Tributary API reference</title>
    <link rel="stylesheet" type="text/css" href="${BASE}/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="${BASE}/index.css" />
    <link rel="icon" type="image/png" href="${BASE}/favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="${BASE}/favicon-16x16.png" sizes="16x16" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${BASE}/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="${BASE}/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="${BASE}/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;
}

/** Points Swagger UI at this server's document (the package's own initializer shows a demo API). */
export function docsInitializerJs(): string {
  return `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
    oauth2RedirectUrl: window.location.origin + '${BASE}/oauth2-redirect.html',
  });
};
`;
}
