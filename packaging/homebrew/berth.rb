# Homebrew formula for berth. release.sh fills VERSION and the sha256 sums
# from dist/checksums.txt.
class Berth < Formula
  desc "Run Linux containers in a lightweight VM, the docker way"
  homepage "https://github.com/berth-dev/berth"
  version "VERSION"
  license "Apache-2.0"

  on_macos do
    on_arm do
      url "https://github.com/berth-dev/berth/releases/download/vVERSION/berth_VERSION_darwin_arm64.tar.gz"
      sha256 "SHA256_DARWIN_ARM64"
    end
    on_intel do
      url "https://github.com/berth-dev/berth/releases/download/vVERSION/berth_VERSION_darwin_amd64.tar.gz"
      sha256 "SHA256_DARWIN_AMD64"
    end
  end
  on_linux do
    on_arm do
      url "https://github.com/berth-dev/berth/releases/download/vVERSION/berth_VERSION_linux_arm64.tar.gz"
      sha256 "SHA256_LINUX_ARM64"
    end
    on_intel do
      url "https://github.com/berth-dev/berth/releases/download/vVERSION/berth_VERSION_linux_amd64.tar.gz"
      sha256 "SHA256_LINUX_AMD64"
    end
  end

  def install
    bin.install "berth", "berth-vmimage" # berth runs berth-vmimage for machine init --image REF
    # The VM image lives where bootimage.Search looks: <prefix>/share/berth/vmimage.
    (share/"berth").install "vmimage" if File.directory?("vmimage")
    bash_completion.install "completions/berth.bash" => "berth"
    zsh_completion.install "completions/berth.zsh" => "_berth"
    fish_completion.install "completions/berth.fish"
  end

  def caveats
    <<~EOS
      The release binary is signed with the com.apple.security.virtualization
      entitlement that the vz driver needs. Check your setup with:
        berth doctor
    EOS
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/berth version --format '{{.Client.Version}}'")
  end
end
