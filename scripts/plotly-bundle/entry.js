'use strict';
// plotly.js with only the traces fluxwise's reports draw: scatter (part of the core), bar and sankey.
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/bar'), require('plotly.js/lib/sankey')]);
module.exports = Plotly;
