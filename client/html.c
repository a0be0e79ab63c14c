/*
 * html: escaping for the HTML report. See html.h.
 */
#include "client/html.h"

#include <stdarg.h>
#include <stdlib.h>

void html_escape(FILE *out, const char *text)
{
	if (text == NULL)
		return;
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		case '\t':
		case '\n':
		case '\r': fputc(*p, out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fputs("\xEF\xBF\xBD", out); /* U+FFFD */
			else
				fputc(*p, out);
		}
	}
}

void html_escapef(FILE *out, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n >= 0)
		html_escape(out, text);
	free(text);
}
