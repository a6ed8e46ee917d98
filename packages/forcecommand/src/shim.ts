import {
  CALL_ENV_NAMES,
  FRAME_CALL,
  MAX_CALL_FRAME,
  MAX_OUTPUT_FRAME,
  SESSION_VERB,
} from '@netward/session-protocol';
import { clientMessage, FC_ERRORS } from './errors.ts';

/** Longest socket path: sockaddr_un's sun_path is 108 bytes with the terminating NUL (unix(7)). */
export const MAX_SOCKET_PATH = 107;

/**
 * The ForceCommand shim in front of the resident validator (resident.ts): a Perl script, because
 * perl-base is Essential on Debian (and VyOS) and `perl -e 1` starts in ~3 ms, where node needs ~45 ms.
 * It loads no module at all (`use Socket` alone costs ~11 ms; docs/perl.md): the socket constants of
 * Linux are written out and the sockaddr_un is packed by hand.
 *
 * Usage: `netward-resident <socket> <fallback argv...>`, where the fallback is the per-process
 * validator's command line and `%u` in the socket path is the account's name. The session verb, or a socket that cannot be connected (the resident
 * process is down or not yet up), `exec`s the fallback, which validates everything itself: the
 * resident process only makes a command cheaper, it is never a way around the validator. Once the
 * CALL frame may have been sent, nothing is retried (the command may have run): an answer that ends
 * without its EXIT frame, or is not framed as it must be, is refused with ERR_FC_RESIDENT.
 */
export function renderResidentShim(): string {
  const lost = FC_ERRORS.ERR_FC_RESIDENT;
  const names = CALL_ENV_NAMES.map((n) => `'${n}'`).join(', ');
  // The frame bound the resident writes (MAX_OUTPUT_FRAME) plus the type byte; EXIT bodies are short.
  const maxLength = MAX_OUTPUT_FRAME + 1;
  return `#!/usr/bin/perl
# netward resident shim (packages/forcecommand/src/shim.ts): written by the installer, root-owned 0755.
# No modules: each costs milliseconds at every command. Linux values: AF_UNIX = 1, SOCK_STREAM = 1.
my ($path, @fallback) = @ARGV;
sub fallback { exec { $fallback[0] } @fallback if @fallback; lost() }
sub lost {
  syswrite(STDERR, ${perlString(clientMessage('ERR_FC_RESIDENT'))});
  exit ${lost.exit};
}
# A write to a closed socket or channel must fail with EPIPE here, not kill the shim unannounced.
$SIG{PIPE} = 'IGNORE';
# sshd expands no token in ForceCommand: one line serves every account, each with its own socket.
my $user = getpwuid($<);
fallback() if !defined $path || !defined $user;
$path =~ s/%u/$user/g;
fallback() if length($path) > ${MAX_SOCKET_PATH};
fallback() if defined $ENV{SSH_ORIGINAL_COMMAND} && $ENV{SSH_ORIGINAL_COMMAND} eq '${SESSION_VERB}';
# The environment as one CALL frame. One the resident would refuse by its size alone (a command of up
# to ~128 KiB reaches us) goes to the per-process validator instead, which refuses it at stage 1 under
# the certificate, so its record names who sent it. length() counts bytes: %ENV holds byte strings.
my $body = join("\\0", map { "$_=$ENV{$_}" } grep { defined $ENV{$_} } (${names}));
fallback() if length($body) > ${MAX_CALL_FRAME};
my $frame = pack('N C', length($body) + 1, ${FRAME_CALL}) . $body;
socket(my $s, 1, 1, 0) or fallback();
# struct sockaddr_un: sa_family_t (native u16) AF_UNIX, then sun_path NUL-terminated in 108 bytes.
connect($s, pack('S Z108', 1, $path)) or fallback();

# From here on the request may run: every failure is a refusal, never the fallback.
put($s, $frame) or lost();

sub put {
  my ($fh, $bytes) = @_;
  for (my $off = 0; $off < length $bytes;) {
    my $n = syswrite($fh, $bytes, length($bytes) - $off, $off);
    return 0 unless defined $n;
    $off += $n;
  }
  return 1;
}

# Frames: u32 length (of type and payload) | u8 type | payload. STDOUT 2 and STDERR 3 are copied to
# fds 1 and 2; EXIT 4 ends the shim with its status; anything else is a refusal.
my $in = '';
for (;;) {
  my $n = sysread($s, $in, 65536, length $in);
  lost() unless $n;
  while (length($in) >= 5) {
    my ($len, $type) = unpack('N C', $in);
    lost() if $len < 1 || $len > ${maxLength};
    last if length($in) < 4 + $len;
    my $payload = substr($in, 5, $len - 1);
    substr($in, 0, 4 + $len) = '';
    if ($type == 2 || $type == 3) {
      # The client went away: end, so that the resident process stops the command (128 + SIGPIPE).
      put($type == 2 ? \\*STDOUT : \\*STDERR, $payload) or exit 141;
    } elsif ($type == 4 && $payload =~ /\\A\\{"id":"","exit":(\\d{1,3})(?:,"signal":"[A-Z0-9]{1,16}")?\\}\\z/ && $1 <= 255) {
      exit $1;
    } else {
      lost();
    }
  }
}
`;
}

/** A Perl single-quoted string of `text` with its trailing newline as "\n" (the text has no quotes). */
function perlString(text: string): string {
  if (/['\\]/.test(text)) throw new TypeError('message not representable');
  return `'${text.replace(/\n$/, '')}' . "\\n"`;
}
