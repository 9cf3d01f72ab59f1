<?php
// A child that grows once, then stays flat, as a real mod_php child does:
// - an 8 MB string built and let go: Zend frees request memory at the end
//   of every request, so it leaves nothing behind;
// - one of 200 fixed regular expressions: each stays compiled in PCRE's
//   per-process cache, so the cache fills during the first few hundred
//   requests and then holds.
$s = str_repeat('x', 8 * 1024 * 1024);
$k = mt_rand(0, 199);
preg_match('/' . str_repeat('(?:a|b)', 400) . "k$k/", 'ab');
echo 'built ', strlen($s), " bytes, pattern $k pid=", getmypid(), "\n";
