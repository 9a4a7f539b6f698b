#!/usr/bin/node
"use strict";
// Upstream's path for the heal report (kubectl kadalu healinfo runs it in a server pod); Node, as the image has no shell.
require("/kadalu/dist/server.cjs");
