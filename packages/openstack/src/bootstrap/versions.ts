// Pinned versions of everything the bootstrap installs besides Kubernetes itself. Filled in below.
export const componentVersions = {} as const;
