export { startEmulator } from './start-emulator.ts';
export type { EmulatorOptions, RunningEmulator } from './start-emulator.ts';
export {
  DEFAULT_CONFIG,
  ROUTE_NAMES,
  ROW_ERROR_STATUS,
  emulatorConfigSchema,
  emulatorConfigPatchSchema,
  mergeConfig,
} from './config.ts';
export type { EmulatorConfig, EmulatorConfigPatch, RouteFaults, RouteName, RowErrorCode } from './config.ts';
export type { EmulatorStats } from './stats.ts';
export type { EmulatorInventory, InventoryBatch, InventoryFile } from './inventory.ts';
