// Bundle entry.js (plotly.js core + bar + sankey) into one minified file inside the fluxwise package.
// Run with `npm install && npm run build` in this folder; the result is committed, so installing
// fluxwise never needs node or npm.
const path = require('path');
const esbuild = require('esbuild');
const version = require('plotly.js/package.json').version;
const out = path.join(__dirname, '..', '..', 'src', 'fluxwise', 'report', 'static', 'plotly-fluxwise.min.js');
// plotly.js requires a map library's stylesheet for map traces, which this bundle leaves out
const noCss = { name: 'no-css', setup(b) { b.onLoad({ filter: /\.css$/ }, () => ({ contents: '', loader: 'js' })); } };
esbuild.build({
  entryPoints: [path.join(__dirname, 'entry.js')], outfile: out, format: 'iife', globalName: 'Plotly',
  bundle: true, minify: true, legalComments: 'none', target: 'es2016', plugins: [noCss],
  define: { global: 'window', 'define.amd': 'false', 'process.env.NODE_DEBUG': 'false' },
  banner: { js: `/* plotly.js ${version} (scatter, bar, sankey) for fluxwise reports. (c) Plotly Technologies Inc., MIT License: https://github.com/plotly/plotly.js/blob/master/LICENSE */` },
  logLevel: 'info',
}).catch(() => process.exit(1));
