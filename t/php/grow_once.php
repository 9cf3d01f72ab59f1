<?php
// Builds a 40 MB string and lets it go: Zend frees request memory at the
// end of every request, so the child's RSS stays where it was (a child
// that grew once, then stays flat).
$s = str_repeat('x', 40 * 1024 * 1024);
echo 'built ', strlen($s), ' bytes pid=', getmypid(), "\n";
