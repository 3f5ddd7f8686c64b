/** Root hooks for this repository's tests: the test kit's (`@tributary/runtime/testing`). */
export { mochaHooks } from '../../runtime/testing/hooks';
