import type { Suite } from '../suite';
import { accountsSuite } from './accounts';
import { consoleSuite } from './console';
import { fairnessSuite } from './fairness';
import { metricsSuite } from './metrics';
import { pipelineSuite } from './pipeline';
import { sagaSuite } from './saga';
import { scaleSuite } from './scale';

/**
 * Every suite, in the order `npm run bench` runs them. A new suite is one file in this
 * folder and one line here; `npm run bench -- <name>` runs it alone.
 */
export const suites: Suite[] = [accountsSuite, pipelineSuite, sagaSuite, scaleSuite, consoleSuite, metricsSuite, fairnessSuite];
