/** The test kit's runtime helpers (`@tributary/runtime/testing`), kept here for the repository's tests. */
export * from '../../runtime/testing/runtime';
