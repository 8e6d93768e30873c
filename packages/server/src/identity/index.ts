export { Directory, BOOTSTRAP_ADMIN_REF, shortRef, userUid, type DirectoryUser, type DirectoryGroup, type DirectoryWarning } from './directory.ts';
