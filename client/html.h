/*
 * html: text written into the HTML report, and into the SVG inside it, with the characters
 * that mean markup escaped. Every string that comes from the daemon (titles, names, ids: user
 * input, in the end) goes through here.
 */
#ifndef INCIDENTD_CLIENT_HTML_H
#define INCIDENTD_CLIENT_HTML_H

#include <stdio.h>

/*
 * Writes text to out with &, <, >, " and ' as the entities &amp; &lt; &gt; &quot; &#39;, so
 * that it is safe as HTML text, as a quoted attribute value and as SVG (XML) text alike.
 * Control characters other than tab, line feed and carriage return (which XML 1.0 forbids)
 * become U+FFFD. NULL writes nothing.
 */
void html_escape(FILE *out, const char *text);

/* Formats like printf(), then writes the result as html_escape() does. */
void html_escapef(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
