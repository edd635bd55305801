# sensorpipe build configuration: edit here, not in the Makefile.
VERSION = 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config

# Libraries found through pkg-config. Debian's paho.mqtt.c ships no .pc
# file, so it is named directly (libpaho-mqtt3as: async API with TLS).
PKGS = jansson libcurl uuid zlib libmicrohttpd
PKGS_TEST = cunit
PAHO_LIBS = -lpaho-mqtt3as

OPT ?= -O2
CFLAGS_WARN = -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers -Werror
CFLAGS ?= $(OPT) -g
CPPFLAGS_ALL = -std=c11 -D_GNU_SOURCE -DSENSORPIPE_VERSION='"$(VERSION)"' -Icommon
