/*
 * help: what incidentctl says about itself, from one table with a row per command: the
 * general usage (--help), each command's own help (COMMAND --help, problem SUB --help) and
 * the usage line shown after a usage error.
 *
 * A command's help gives its synopsis, what it does, each option with its valid values
 * (stages, statuses, sources, ranges, time formats) and what it prints. Adding a command is
 * one row in help.c (and one in main.c's dispatch table).
 */
#ifndef INCIDENTD_CLIENT_HELP_H
#define INCIDENTD_CLIENT_HELP_H

#include <stdbool.h>
#include <stdio.h>

/* Prints the general usage to out: the global options, every command's synopsis, exit statuses. */
void help_usage(FILE *out);

/*
 * Prints the help of command to out: a row's name ("list", "problem update"), or a group of
 * rows ("problem": the synopses of every "problem ..." row). Returns false, printing nothing,
 * when there is no such command.
 */
bool help_command(FILE *out, const char *command);

/*
 * Prints the synopsis of command ("usage: incidentctl list [--status S] ..."), or the general
 * usage line when command is NULL or unknown.
 */
void help_synopsis(FILE *out, const char *command);

#endif
