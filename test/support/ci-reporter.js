'use strict';
/**
 * Mocha reporter for CI: the usual spec output, plus the run's counts written as JSON to
 * the file named by `--reporter-option json=<path>`, so .ci/run can print "N passed, N failed".
 */
const fs = require('node:fs');
const Mocha = require('mocha');

class CiReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const out = options.reporterOptions && options.reporterOptions.json;
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      if (!out) return;
      const { passes, failures, pending, tests, duration } = this.stats;
      fs.writeFileSync(out, JSON.stringify({ passes, failures, pending, tests, duration }));
    });
  }
}

module.exports = CiReporter;
