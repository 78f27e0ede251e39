<#
    Certificates in LocalMachine\My: import (PFX, PEM, self-signed) marked
    as managed by Nomad, and removal of managed certificates no binding uses.
    PEM decoding lives in NomadIis.Pem.ps1. Dot-sourced by NomadIis.psm1.
#>

# The friendly-name prefix of the certificates the driver imports ("Managed
# By Nomad"); only those are ever removed.
$script:ManagedCertificatePrefix = '[MBN] '

function Get-StoreCertificate
{
    <#
    .SYNOPSIS
        Returns the certificate with a thumbprint from LocalMachine\My, or $null.
    #>
    [CmdletBinding()]
    [OutputType([System.Security.Cryptography.X509Certificates.X509Certificate2])]
    param
    (
        # pscheck: checked callers pass a certificate thumbprint, or a plan thumbprint after checking its length
        [Parameter(Mandatory = $true)]
        [ValidatePattern('^[0-9A-F]{40}$')]
        [System.String]
        $Thumbprint
    )

    $ErrorActionPreference = 'Stop'
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList 'My', 'LocalMachine'
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadOnly)
    try
    {
        $found = $store.Certificates.Find([System.Security.Cryptography.X509Certificates.X509FindType]::FindByThumbprint, $Thumbprint, $false)
        if ($found.Count -eq 0)
        {
            return $null
        }
        return $found[0]
    }
    finally
    {
        $store.Close()
    }
}

function Test-ManagedCertificate
{
    <#
    .SYNOPSIS
        Tells whether a certificate carries the "[MBN] " friendly-name prefix.
    #>
    [CmdletBinding()]
    [OutputType([System.Boolean])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Certificate2]
        $Certificate
    )

    $ErrorActionPreference = 'Stop'
    return ([System.String] $Certificate.FriendlyName).StartsWith($script:ManagedCertificatePrefix, [System.StringComparison]::Ordinal)
}

function ConvertTo-CertificateResult
{
    <#
    .SYNOPSIS
        Reports a certificate as the contract's Certificate.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Certificate2]
        $Certificate,

        [Parameter(Mandatory = $true)]
        [System.Boolean]
        $AlreadyPresent
    )

    $ErrorActionPreference = 'Stop'
    return [ordered] @{
        thumbprint     = $Certificate.Thumbprint.ToUpperInvariant()
        subject        = $Certificate.Subject
        notAfter       = ConvertTo-IsoTime -Time $Certificate.NotAfter
        managed        = Test-ManagedCertificate -Certificate $Certificate
        alreadyPresent = $AlreadyPresent
    }
}

function Get-CertificateUser
{
    <#
    .SYNOPSIS
        Lists the bindings of every site that use a certificate, as
        "site/ip:port:host".
    #>
    [CmdletBinding()]
    [OutputType([System.String[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        [Parameter(Mandatory = $true)]
        [ValidatePattern('^[0-9A-F]{40}$')]
        [System.String]
        $Thumbprint
    )

    $ErrorActionPreference = 'Stop'
    $users = New-Object -TypeName System.Collections.Generic.List[System.String]
    foreach ($site in $ServerManager.Sites)
    {
        foreach ($binding in $site.Bindings)
        {
            if ([System.String] $binding.Protocol -ne 'https')
            {
                continue
            }
            if ((Get-BindingThumbprint -Binding $binding) -eq $Thumbprint)
            {
                $users.Add(('{0}/{1}' -f $site.Name, $binding.BindingInformation))
            }
        }
    }
    return , $users.ToArray()
}

function Remove-CertificatePrivateKey
{
    <#
    .SYNOPSIS
        Deletes the persisted private key of a certificate (CNG or CryptoAPI,
        RSA or ECDSA), so that removing a certificate leaves no key container
        behind. Best effort: a key that cannot be deleted is left.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Certificate2]
        $Certificate
    )

    $ErrorActionPreference = 'Stop'
    if (-not $Certificate.HasPrivateKey)
    {
        return
    }
    try
    {
        $rsa = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate)
        if ($rsa -is [System.Security.Cryptography.RSACng])
        {
            $rsa.Key.Delete()
            return
        }
        if ($rsa -is [System.Security.Cryptography.RSACryptoServiceProvider])
        {
            $rsa.PersistKeyInCsp = $false
            $rsa.Clear()
            return
        }
        $ecdsa = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($Certificate)
        if ($ecdsa -is [System.Security.Cryptography.ECDsaCng])
        {
            $ecdsa.Key.Delete()
        }
    }
    catch
    {
        Write-Verbose -Message ('the private key of certificate {0} was not deleted: {1}' -f $Certificate.Thumbprint, $_.Exception.Message)
    }
}

function Remove-ManagedCertificate
{
    <#
    .SYNOPSIS
        Removes a certificate from LocalMachine\My, with its private key,
        when it is managed and no binding of any site uses it.

    .OUTPUTS
        Found, Removed and InUseBy.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.PSCustomObject])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Object]
        $ServerManager,

        # pscheck: checked callers skip or refuse an empty ConvertTo-Thumbprint result first
        [Parameter(Mandatory = $true)]
        [ValidatePattern('^[0-9A-F]{40}$')]
        [System.String]
        $Thumbprint
    )

    $ErrorActionPreference = 'Stop'
    $certificate = Get-StoreCertificate -Thumbprint $Thumbprint
    if ($null -eq $certificate)
    {
        return [pscustomobject] @{ Found = $false; Removed = $false; InUseBy = @() }
    }
    $users = Get-CertificateUser -ServerManager $ServerManager -Thumbprint $Thumbprint
    if ($users.Length -gt 0 -or -not (Test-ManagedCertificate -Certificate $certificate))
    {
        return [pscustomobject] @{ Found = $true; Removed = $false; InUseBy = $users }
    }
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList 'My', 'LocalMachine'
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
    try
    {
        $store.Remove($certificate)
    }
    finally
    {
        $store.Close()
    }
    Remove-CertificatePrivateKey -Certificate $certificate
    return [pscustomobject] @{ Found = $true; Removed = $true; InUseBy = @() }
}

function Read-CertificateFile
{
    <#
    .SYNOPSIS
        Reads a certificate or key file: NotFound when it is missing,
        InvalidArgument when the path is relative or the file is empty.
    #>
    [CmdletBinding()]
    [OutputType([System.Byte[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field,

        # pscheck: checked callers pass pfxPath after checking its length, or the paths Import-PemCertificate refused when empty
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Path
    )

    $ErrorActionPreference = 'Stop'
    if (-not [System.IO.Path]::IsPathRooted($Path))
    {
        New-NomadIisError -Kind InvalidArgument -Message ("{0}: '{1}' is not an absolute path" -f $Field, $Path)
    }
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf))
    {
        New-NomadIisError -Kind NotFound -Message ('{0}: file {1} does not exist' -f $Field, $Path)
    }
    $bytes = [System.IO.File]::ReadAllBytes($Path)
    if ($bytes.Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ('{0}: file {1} is empty' -f $Field, $Path)
    }
    return , $bytes
}

function Add-ManagedCertificate
{
    <#
    .SYNOPSIS
        Adds a certificate with its (persisted) private key to
        LocalMachine\My under a managed friendly name.
    #>
    [CmdletBinding()]
    [OutputType([System.Void])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Certificate2]
        $Certificate
    )

    $ErrorActionPreference = 'Stop'
    $Certificate.FriendlyName = $script:ManagedCertificatePrefix + $Certificate.GetNameInfo([System.Security.Cryptography.X509Certificates.X509NameType]::SimpleName, $false)
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList 'My', 'LocalMachine'
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
    try
    {
        $store.Add($Certificate)
    }
    finally
    {
        $store.Close()
    }
}

function Select-IntermediateCertificate
{
    <#
    .SYNOPSIS
        Returns the intermediate CA certificates of a chain: every
        certificate that is not the leaf, is a CA (basic constraints) and is
        not self-signed (a root belongs in the trusted roots, which the
        driver never changes). Changes nothing; InvalidArgument, naming the
        field, for bytes that are not a certificate.

    .PARAMETER Field
        The argument the chain came from, for error messages.

    .PARAMETER Certificates
        The DER bytes of each certificate of the chain.

    .PARAMETER LeafThumbprint
        The thumbprint of the leaf certificate.
    #>
    [CmdletBinding()]
    [OutputType([System.Security.Cryptography.X509Certificates.X509Certificate2[]])]
    param
    (
        # pscheck: checked callers pass a field name literal or a non-empty source description
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field,

        # pscheck: checked RawData of parsed certificates or DER of PEM blocks, never $null
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Collections.Generic.List[System.Byte[]]]
        $Certificates,

        # pscheck: checked ValidatePattern requires 40 hex digits; callers pass a certificate thumbprint
        [Parameter(Mandatory = $true)]
        [ValidatePattern('^[0-9A-F]{40}$')]
        [System.String]
        $LeafThumbprint
    )

    $ErrorActionPreference = 'Stop'
    $intermediates = New-Object -TypeName System.Collections.Generic.List[System.Security.Cryptography.X509Certificates.X509Certificate2]
    $index = 0
    foreach ($raw in $Certificates)
    {
        $index++
        try
        {
            $certificate = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList @(, $raw)
        }
        catch
        {
            New-NomadIisError -Kind InvalidArgument -Message ('{0}: certificate {1} of the chain cannot be read: {2}' -f $Field, $index, (Get-InnermostMessage -ErrorRecord $_))
        }
        if ($certificate.Thumbprint.ToUpperInvariant() -eq $LeafThumbprint)
        {
            continue
        }
        if ([System.BitConverter]::ToString($certificate.SubjectName.RawData) -eq [System.BitConverter]::ToString($certificate.IssuerName.RawData))
        {
            continue
        }
        $isAuthority = $false
        foreach ($extension in $certificate.Extensions)
        {
            if ($extension -is [System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension])
            {
                $isAuthority = $extension.CertificateAuthority
            }
        }
        if ($isAuthority)
        {
            $intermediates.Add($certificate)
        }
    }
    return , $intermediates.ToArray()
}

function Add-IntermediateCertificate
{
    <#
    .SYNOPSIS
        Adds intermediate CA certificates (Select-IntermediateCertificate) to
        LocalMachine\CA when that store lacks them, and returns how many it
        added.

    .DESCRIPTION
        HTTP.sys sends the chain Schannel builds from the machine's stores;
        an intermediate that is in no store is not sent, and clients that do
        not fetch it themselves fail with "unable to get local issuer
        certificate". The certificates are added without a private key and
        never removed again: other sites may rely on them, and an
        intermediate CA certificate in that store grants no trust by itself.
        Callers add them once the request was found valid, before the leaf.

    .PARAMETER Certificates
        The intermediate CA certificates.
    #>
    [CmdletBinding()]
    [OutputType([System.Int32])]
    param
    (
        # pscheck: checked Select-IntermediateCertificate returns certificates it built, never $null
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Security.Cryptography.X509Certificates.X509Certificate2[]]
        $Certificates
    )

    $ErrorActionPreference = 'Stop'
    if ($Certificates.Length -eq 0)
    {
        return 0
    }
    $added = 0
    $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList ([System.Security.Cryptography.X509Certificates.StoreName]::CertificateAuthority), ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
    $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
    try
    {
        foreach ($certificate in $Certificates)
        {
            $found = $store.Certificates.Find([System.Security.Cryptography.X509Certificates.X509FindType]::FindByThumbprint, $certificate.Thumbprint, $false)
            if ($found.Count -eq 0)
            {
                $store.Add($certificate)
                $added++
            }
        }
    }
    finally
    {
        $store.Close()
    }
    return $added
}

function Import-PfxBytes
{
    <#
    .SYNOPSIS
        Imports the certificate with a private key from PKCS#12 data into
        LocalMachine\My, marked as managed; reports an existing certificate
        with the same thumbprint as AlreadyPresent and leaves it untouched.

    .DESCRIPTION
        The data is read twice: once with keys that are not persisted, to
        find the certificate and look for it in the store, and only when it
        is new once more with MachineKeySet and PersistKeySet (never
        Exportable). Keys of certificates that end up not in the store are
        deleted, so a failed or repeated import leaves no key container.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Byte[]]
        $Bytes,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Password,

        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Source
    )

    $ErrorActionPreference = 'Stop'
    $storageFlags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::MachineKeySet
    $probe = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Certificate2Collection
    $chain = New-Object -TypeName 'System.Collections.Generic.List[System.Byte[]]'
    $thumbprint = ''
    try
    {
        try
        {
            $probe.Import($Bytes, $Password, $storageFlags)
        }
        catch
        {
            $exception = $_.Exception
            while ($null -ne $exception.InnerException)
            {
                $exception = $exception.InnerException
            }
            # ERROR_INVALID_PASSWORD
            if ($exception.HResult -eq -2147024810)
            {
                New-NomadIisError -Kind InvalidArgument -Message ('{0}: the password is not correct' -f $Source)
            }
            New-NomadIisError -Kind InvalidArgument -Message ('{0}: not a PKCS#12 (PFX) file with a certificate and its key: {1}' -f $Source, $exception.Message)
        }
        foreach ($candidate in $probe)
        {
            $chain.Add($candidate.RawData)
            if ($thumbprint.Length -eq 0 -and $candidate.HasPrivateKey)
            {
                $thumbprint = $candidate.Thumbprint.ToUpperInvariant()
            }
        }
    }
    finally
    {
        foreach ($candidate in $probe)
        {
            $candidate.Reset()
        }
    }
    if ($thumbprint.Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ('{0}: holds no certificate with its private key' -f $Source)
    }
    $null = Add-IntermediateCertificate -Certificates (Select-IntermediateCertificate -Field $Source -Certificates $chain -LeafThumbprint $thumbprint)

    $existing = Get-StoreCertificate -Thumbprint $thumbprint
    if ($null -ne $existing)
    {
        return ConvertTo-CertificateResult -Certificate $existing -AlreadyPresent $true
    }

    $storageFlags = $storageFlags -bor [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::PersistKeySet
    $collection = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Certificate2Collection
    $collection.Import($Bytes, $Password, $storageFlags)
    $added = $null
    try
    {
        foreach ($candidate in $collection)
        {
            if ($candidate.Thumbprint.ToUpperInvariant() -eq $thumbprint)
            {
                Add-ManagedCertificate -Certificate $candidate
                $added = $candidate
                break
            }
        }
    }
    finally
    {
        foreach ($candidate in $collection)
        {
            if ($null -eq $added -or $candidate.Thumbprint -ne $added.Thumbprint)
            {
                Remove-CertificatePrivateKey -Certificate $candidate
            }
        }
    }
    if ($null -eq $added)
    {
        New-NomadIisError -Kind Internal -Message ('{0}: the certificate was not found on the second read' -f $Source)
    }
    return ConvertTo-CertificateResult -Certificate $added -AlreadyPresent $false
}

function New-ManagedSelfSignedCertificate
{
    <#
    .SYNOPSIS
        Creates a managed self-signed certificate in LocalMachine\My: RSA
        2048 with SHA-256, subject and SAN the host name and localhost, server
        and client authentication, valid one year, key not exportable.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Hostname
    )

    $ErrorActionPreference = 'Stop'
    $commonName = $Hostname.Trim()
    if ($commonName.Length -eq 0)
    {
        $commonName = 'localhost'
    }
    if ($commonName.IndexOfAny(' /\,;:=+"<>#'.ToCharArray()) -ge 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("hostname: '{0}' is not a host name" -f $Hostname)
    }
    $dnsNames = @($commonName)
    if ($commonName -ne 'localhost')
    {
        $dnsNames += 'localhost'
    }
    $certificate = New-SelfSignedCertificate -DnsName $dnsNames -CertStoreLocation 'Cert:\LocalMachine\My' `
        -KeyAlgorithm 'RSA' -KeyLength 2048 -HashAlgorithm 'SHA256' -KeyExportPolicy 'NonExportable' `
        -NotAfter (Get-Date).AddYears(1) -FriendlyName ($script:ManagedCertificatePrefix + 'self-signed ' + $commonName)
    return ConvertTo-CertificateResult -Certificate $certificate -AlreadyPresent $false
}

function Import-NomadIisCertificate
{
    <#
    .SYNOPSIS
        Imports a certificate into LocalMachine\My marked as managed by Nomad
        (operation ImportCertificate).

    .DESCRIPTION
        Exactly one source: PfxPath (+ Password), CertPath with KeyPath (PEM;
        they may name the same file), or SelfSigned (+ Hostname). A
        certificate the store already holds is left as it is and reported
        with alreadyPresent, so that an import never takes over a certificate
        an administrator installed. The friendly name of an imported
        certificate starts with "[MBN] ", which is what lets the driver
        remove it later.

    .PARAMETER PfxPath
        A PKCS#12 file.

    .PARAMETER Password
        The password of the PFX file. Never part of a message.

    .PARAMETER CertPath
        A PEM file whose first CERTIFICATE block is the certificate.

    .PARAMETER KeyPath
        A PEM file with the certificate's private key.

    .PARAMETER SelfSigned
        Create a self-signed certificate.

    .PARAMETER Hostname
        Subject and SAN of a self-signed certificate (localhost when empty).

    .EXAMPLE
        Import-NomadIisCertificate -SelfSigned $true -Hostname 'shop.example.com'
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        [Parameter()]
        [ValidateLength(0, 32767)]
        [System.String]
        $PfxPath = '',

        [Parameter()]
        [System.String]
        $Password = '',

        [Parameter()]
        [ValidateLength(0, 32767)]
        [System.String]
        $CertPath = '',

        [Parameter()]
        [ValidateLength(0, 32767)]
        [System.String]
        $KeyPath = '',

        [Parameter()]
        [System.Boolean]
        $SelfSigned = $false,

        [Parameter()]
        [ValidateLength(0, 253)]
        [System.String]
        $Hostname = ''
    )

    $ErrorActionPreference = 'Stop'
    $sources = 0
    if ($PfxPath.Length -gt 0)
    {
        $sources++
    }
    if ($CertPath.Length -gt 0 -or $KeyPath.Length -gt 0)
    {
        $sources++
    }
    if ($SelfSigned)
    {
        $sources++
    }
    if ($sources -ne 1)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'give exactly one certificate source: pfxPath, certPath with keyPath, or selfSigned'
    }

    if ($PfxPath.Length -gt 0)
    {
        $bytes = Read-CertificateFile -Field 'pfxPath' -Path $PfxPath
        return Import-PfxBytes -Bytes $bytes -Password $Password -Source ('pfxPath: ' + $PfxPath)
    }
    if ($SelfSigned)
    {
        return New-ManagedSelfSignedCertificate -Hostname $Hostname
    }
    if ($CertPath.Length -eq 0 -or $KeyPath.Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'certPath and keyPath go together (they may name the same file)'
    }
    return Import-PemCertificate -CertPath $CertPath -KeyPath $KeyPath
}

function Remove-NomadIisCertificate
{
    <#
    .SYNOPSIS
        Removes a managed certificate, with its private key, unless a binding
        of any site still uses it (operation RemoveCertificate).

    .DESCRIPTION
        NotFound when the store does not hold the certificate. A certificate
        without the "[MBN] " friendly-name prefix is never removed; one that
        a binding uses is kept and its users are listed.

    .PARAMETER Thumbprint
        The SHA-1 thumbprint (separators and case do not matter).

    .EXAMPLE
        Remove-NomadIisCertificate -Thumbprint '0123456789ABCDEF0123456789ABCDEF01234567'
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        # pscheck: checked operation entry point: host.ps1 answers the binder refusal on the operation itself with InvalidArgument naming the parameter
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [ValidateLength(40, 128)]
        [System.String]
        $Thumbprint
    )

    $ErrorActionPreference = 'Stop'
    $normalized = ConvertTo-Thumbprint -Value $Thumbprint
    if ($normalized.Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message ("thumbprint: '{0}' is not a SHA-1 thumbprint" -f $Thumbprint)
    }
    $outcome = Remove-ManagedCertificate -ServerManager (Get-ServerManager) -Thumbprint $normalized
    if (-not $outcome.Found)
    {
        New-NomadIisError -Kind NotFound -Message ('certificate {0} is not in the LocalMachine\My store' -f $normalized)
    }
    return [ordered] @{
        removed = $outcome.Removed
        inUseBy = @($outcome.InUseBy)
    }
}
