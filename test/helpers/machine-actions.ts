/** What XState's pure `transition` returns as actions, picked apart for assertions. */
export type Action = { type: string; params?: any };

export function spawns(actions: Action[]) {
  return actions.filter((a) => a.type === 'xstate.spawnChild').map((a) => a.params as { id: string; src: string; input: any });
}

export function stops(actions: Action[]): string[] {
  return actions.filter((a) => a.type === 'xstate.stopChild').map((a) => a.params?.id as string);
}

export function raises(actions: Action[]) {
  return actions
    .filter((a) => a.type === 'xstate.raise')
    .map((a) => a.params as { event: { type: string }; id: string; delay: number });
}
