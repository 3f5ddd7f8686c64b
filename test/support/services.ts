/** The test kit's service finder (`@tributary/runtime/testing`), kept here for the repository's tests. */
export * from '../../runtime/testing/services';
