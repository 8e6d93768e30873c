export { Directory, BOOTSTRAP_ADMIN_REF, shortRef, userUid, type DirectoryUser, type DirectoryGroup } from './directory.ts';
