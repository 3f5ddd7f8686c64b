export { defineFunction, type FunctionDefinition, type FunctionCall } from './define';
export { invokeFunction, type Invocation } from './invoke';
export { FunctionError, FunctionTimeoutError, FunctionUnavailableError } from './errors';
export { FUNCTION_MODES, functionSettings, parseFunctions, type FunctionMode, type FunctionSettings } from './settings';
export { IDEMPOTENCY_KEY_HEADER } from './http-call';
export { functionRequestHandler, serveFunctions, type FunctionServer } from './server';
export { bindFunction, isDue, type FunctionBinding } from './binding';
export { unboundFunctions } from './unbound';
