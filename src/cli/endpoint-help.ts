import type { Command } from 'commander';
import { ENDPOINT_FORMS } from '../storage/endpoint-forms.js';

/** Argument and option names that take an endpoint. */
const ENDPOINT_ARGUMENTS = new Set(['endpoint', 'sender', 'receiver']);
const ENDPOINT_OPTIONS = new Set(['--sender', '--receiver', '--allow', '--endpoint']);

function takesEndpoint(cmd: Command): boolean {
  return cmd.registeredArguments.some((a) => ENDPOINT_ARGUMENTS.has(a.name())) || cmd.options.some((o) => o.long !== undefined && ENDPOINT_OPTIONS.has(o.long));
}

/** The endpoint forms as a help section. */
export function endpointHelp(): string {
  const width = Math.max(...ENDPOINT_FORMS.map((f) => f.form.length));
  return `\nEndpoints:\n${ENDPOINT_FORMS.map((f) => `  ${f.form.padEnd(width)}  ${f.names}`).join('\n')}`;
}

/**
 * Adds the endpoint forms to the help of `program` and of every command below it that takes an
 * endpoint (by its argument and option names), so no command's help names only some of them.
 */
export function addEndpointHelp(program: Command): void {
  const text = endpointHelp();
  program.addHelpText('after', text);
  const walk = (cmd: Command) => {
    for (const sub of cmd.commands) {
      if (takesEndpoint(sub)) sub.addHelpText('after', text);
      walk(sub);
    }
  };
  walk(program);
}
