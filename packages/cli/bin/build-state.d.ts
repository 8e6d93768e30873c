// Types of build-state.js (plain JavaScript: bin/idp.js runs it before any loader).
export declare const ROOT: string;
export declare const DIST: string;
export declare const BUILD_INFO: string;
export type FileStamp = [rel: string, size: number, mtimeMs: number];
export declare function fileStamp(rel: string): FileStamp | null;
export declare function buildState(): { state: 'current' | 'packaged' | 'missing' | 'stale'; changed?: string };
export declare function buildIsUsable(): boolean;
