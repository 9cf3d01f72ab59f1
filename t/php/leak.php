<?php
// A leak that outlives the request in a real mod_php child: every
// compiled regular expression stays in PCRE's per-process cache (up to
// 4096 of them), and a pattern made from request data is new each time.
$pattern = '/' . str_repeat('(?:a|b)', 400) . preg_quote(uniqid('', true), '/') . '/';
preg_match($pattern, 'ab');
echo 'compiled ', strlen($pattern), ' bytes pid=', getmypid(), "\n";
