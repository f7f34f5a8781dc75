/* json_text.c - json-c objects with a serializer that prints stored text. */
#include "json_text.h"

#include <stdlib.h>
#include <string.h>

static int print_text(struct json_object *o, struct printbuf *pb, int level, int flags)
{
	(void)level;
	(void)flags;
	const char *text = json_object_get_userdata(o);
	return printbuf_memappend(pb, text, (int)strlen(text));
}

struct json_object *json_text_object(const char *text)
{
	struct json_object *o = json_object_new_object();
	char *copy = strdup(text);
	if (o == NULL || copy == NULL) {
		json_object_put(o);
		free(copy);
		return NULL;
	}
	json_object_set_serializer(o, print_text, copy, json_object_free_userdata);
	return o;
}
