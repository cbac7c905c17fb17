export { WaitTimeoutError, describeValue, waitFor, type WaitForOptions } from '@fog/launcher';
