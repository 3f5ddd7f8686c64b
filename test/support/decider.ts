/** The test kit's given/when/then helpers (`@tributary/runtime/testing`), kept here for the repository's tests. */
export * from '../../runtime/testing/decider';
