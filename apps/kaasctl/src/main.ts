#!/usr/bin/env node
// kaasctl: one binary for every KaaS operation. main() only wires commands; each command returns
// an exit code instead of calling process.exit deep inside.
import { Command, CommanderError } from 'commander';
import { serverCommand } from './commands/server.ts';
import { clusterCommand, getCommand } from './commands/cluster.ts';
import { authCommand, userCommand } from './commands/auth.ts';
import { addDestroyCommand, addGetNodesCommand, kubeconfigCommand } from './commands/lifecycle.ts';
import {
  addUpdateCommand,
  addValidateCommand,
  nodesCommand,
  providerCommand,
  servicesCommand,
  versionsCommand,
} from './commands/operations.ts';
import { ssoProxyCommand } from './commands/ssoproxy.ts';
import { backupCommand } from './commands/backup.ts';

export function buildProgram(): Command {
  const program = new Command('kaasctl')
    .description(
      'KaaS: deploy and run Kubernetes clusters with managed services on OpenStack, EKS or the local cloud.',
    )
    .version('0.1.0', '--version', 'print the kaasctl version')
    .showHelpAfterError('(run with --help for usage and examples)')
    .exitOverride();
  program.addCommand(serverCommand());
  const cluster = clusterCommand();
  addDestroyCommand(cluster);
  addValidateCommand(cluster);
  addUpdateCommand(cluster);
  program.addCommand(cluster);
  const get = getCommand();
  addGetNodesCommand(get);
  program.addCommand(get);
  program.addCommand(kubeconfigCommand());
  program.addCommand(nodesCommand());
  program.addCommand(servicesCommand());
  program.addCommand(versionsCommand());
  program.addCommand(providerCommand());
  program.addCommand(authCommand());
  program.addCommand(userCommand());
  program.addCommand(ssoProxyCommand());
  program.addCommand(backupCommand());
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv);
