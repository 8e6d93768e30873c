// Per-line timestamps in replica logs. A replica's stdout and stderr go through a small Perl
// filter in its own process group that prefixes each line with the time it was written
// (`2026-12-01T16:18:21.123456Z <line>`), so the files stay readable with `less` and the logs
// reader can answer `since` and order lines across replicas. The filter is the group's leader:
// it ignores SIGTERM (the group gets it; the filter leaves when the command closes its output)
// and exits with the command's status or dies of its signal, so supervision sees the command's
// exit. Perl rather than a Node process: a few MB per replica. Without perl, replicas write
// straight to the file as before and lines have no time of their own.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const STAMPER = String.raw`
use strict;
my $now = eval { require Time::HiRes; \&Time::HiRes::time } || sub { time };
pipe(my $r, my $w) or die "idp log filter: pipe: $!\n";
my $pid = fork;
die "idp log filter: fork: $!\n" unless defined $pid;
if ($pid == 0) {
  close $r;
  open(STDOUT, '>&', $w) or die; open(STDERR, '>&', $w) or die; close $w;
  exec { $ARGV[0] } @ARGV;
  print STDERR "exec $ARGV[0]: $!\n"; require POSIX; POSIX::_exit(127);
}
close $w;
$SIG{TERM} = $SIG{INT} = $SIG{HUP} = 'IGNORE';
$| = 1;
sub stamp {
  my $t = $now->(); my $s = int $t; my @g = gmtime $s;
  printf "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ %s", $g[5] + 1900, $g[4] + 1, @g[3, 2, 1, 0], int(($t - $s) * 1e6), $_[0];
}
my $buf = '';
for (;;) {
  my $n = sysread($r, $buf, 65536, length $buf);
  if (!defined $n) { next if $!{EINTR}; last; }
  last if $n == 0;
  # A line longer than 64 KiB is split into 64 KiB pieces (counted from the line's start, whatever
  # the reads were): the filter's memory stays bounded whatever the replica writes.
  while (length $buf) {
    my $i = index($buf, "\n");
    if ($i >= 0 && $i <= 65536) { stamp(substr($buf, 0, $i + 1, '')); next; }
    last if length $buf < 65536;
    stamp(substr($buf, 0, 65536, '') . "\n");
  }
}
stamp("$buf\n") if length $buf;
waitpid($pid, 0);
my $st = $?;
if ($st & 127) { $SIG{$_} = 'DEFAULT' for qw(TERM INT HUP); kill($st & 127, $$); }
exit($st >> 8);
`;

let perlPath: string | null | undefined;

/** The perl on PATH (looked up once), or null. */
export function findPerl(): string | null {
  if (perlPath !== undefined) return perlPath;
  perlPath = null;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, 'perl');
    try {
      accessSync(candidate, constants.X_OK);
      perlPath = candidate;
      break;
    } catch {
      /* next */
    }
  }
  return perlPath;
}

/** `file args…` run under the timestamping filter (unchanged when there is no perl or stamping is off). */
export function stamped(
  target: { file: string; args: string[] },
  perl: string | null,
): { file: string; args: string[] } {
  if (perl === null) return target;
  return { file: perl, args: ['-e', STAMPER, target.file, ...target.args] };
}

/** The prefix for a time, as the filter writes it: ISO-8601 UTC with microseconds and a space. */
export function stampOf(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}000Z `;
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z /;

/** A log line split into its time (nanoseconds since the epoch) and text; time null when unstamped. */
export function parseStamped(line: string): { ns: bigint | null; text: string } {
  const m = STAMP.exec(line);
  if (m === null) return { ns: null, text: line };
  const seconds = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(seconds)) return { ns: null, text: line };
  return { ns: BigInt(seconds) * 1_000_000n + BigInt(m[2]!) * 1000n, text: line.slice(m[0].length) };
}

/** The text of every line of a log excerpt, stamps removed. */
export function unstampText(text: string): string {
  return text
    .split('\n')
    .map((line) => parseStamped(line).text)
    .join('\n');
}
