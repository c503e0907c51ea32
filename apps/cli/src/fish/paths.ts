/** Guest path helpers for fish commands (absolute, '/'-separated paths inside one filesystem). */
export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export function baseOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

export function join(dir: string, name: string): string {
  return dir === '/' ? '/' + name : dir + '/' + name;
}
