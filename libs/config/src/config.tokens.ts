/** Injection token of the app's typed configuration object (GatewayConfig, StorageEventsConfig or JobProcessorConfig). */
export const APP_CONFIG = Symbol('APP_CONFIG');
