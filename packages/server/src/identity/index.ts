export { Directory, BOOTSTRAP_ADMIN_REF, userUid, type DirectoryUser, type DirectoryGroup } from './directory.ts';
