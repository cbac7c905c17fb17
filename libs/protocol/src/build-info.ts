// The release named in the root package.json, read when an app is bundled (esbuild inlines
// the one field), so a running binary always reports the version it was built from.
// The root package.json belongs to no project; it is read for this one field only.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { version as packageVersion } from '../../../package.json';

/** The version every app and fogctl report (`--version`, `fog_build_info{version}`). */
export const BUILD_VERSION: string = packageVersion;
