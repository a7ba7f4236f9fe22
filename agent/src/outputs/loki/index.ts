export { LokiTransport, selectorOf, type LokiReport, type LokiStats, type LokiTransportContext } from './transport.js';
export { lokiOutputSchema, type LokiOutputConfig, type LokiOutputInput } from './schema.js';
