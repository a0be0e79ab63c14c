# Writes the text of IN as a C string `incidentd_default_conf` into OUT, so that the daemon's
# built-in defaults are the shipped config file byte for byte.
file(READ ${IN} text HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${text}")
file(WRITE ${OUT} "/* Generated from config/incidentd.conf; do not edit. */\n"
                  "extern const char incidentd_default_conf[];\n"
                  "const char incidentd_default_conf[] = {${bytes} 0x00};\n")
