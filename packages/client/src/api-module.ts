import type { Transport } from './transport.ts';

/**
 * What every capability module builds on: the transport. A module is a class of methods only;
 * IdpClient is never one of them but receives their methods (see `mixIn`), so callers keep one
 * flat client while each capability lives in its own file.
 */
export abstract class ApiModule {
  constructor(protected readonly http: Transport) {}
}

type ModuleClass = abstract new (http: Transport) => ApiModule;

/**
 * Copies the methods of `modules` onto `target`'s prototype; the matching
 * `interface IdpClient extends …` declaration gives them their types. Two modules defining the
 * same name would silently shadow each other, so that is refused.
 */
export function mixIn(target: ModuleClass, modules: readonly ModuleClass[]): void {
  for (const module of modules) {
    for (const name of Object.getOwnPropertyNames(module.prototype)) {
      if (name === 'constructor') continue;
      if (Object.prototype.hasOwnProperty.call(target.prototype, name)) {
        throw new TypeError(`IdpClient: ${module.name}.${name} is defined twice`);
      }
      Object.defineProperty(target.prototype, name, Object.getOwnPropertyDescriptor(module.prototype, name)!);
    }
  }
}
