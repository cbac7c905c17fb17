import { LOOPBACK } from '@fog/launcher';

export { LOOPBACK, freePort } from '@fog/launcher';

export function hostPort(port: number): string {
  return `${LOOPBACK}:${port}`;
}
