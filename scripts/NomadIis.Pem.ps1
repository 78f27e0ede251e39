<#
    PEM certificates and keys: a PEM certificate with its private key
    imported into LocalMachine\My, marked as managed. Dot-sourced by
    NomadIis.psm1.

    On Windows PowerShell 5.1, .NET Framework 4.8 has no PEM reader
    (X509Certificate2.CreateFromPemFile is .NET 5 and later). This file
    decodes the PEM itself (with a small DER reader). An RSA key (PKCS#8
    "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY") becomes RSAParameters,
    imported into a new persisted machine key container of the Microsoft
    Enhanced RSA and AES provider, which the certificate is linked to
    (X509Certificate2.PrivateKey), as .NET Framework supports. An EC key
    (PKCS#8 or SEC1 "EC PRIVATE KEY") becomes ECParameters with the curve
    and public point of the certificate: ECDsa.Create(ECParameters) (.NET
    Framework 4.7) and ECDsaCertificateExtensions.CopyWithPrivateKey (4.7.2)
    pair it with the certificate, which then travels through PKCS#12 in
    memory and is imported like a PFX file. No temporary file is written.
    On PowerShell 7 X509Certificate2.CreateFromPemFile reads every PEM key
    form, and the pair travels through PKCS#12 in memory as well.

    Every further CERTIFICATE block of the certificate file (a full chain)
    is added to LocalMachine\CA, once the key was found to belong to the
    certificate, when it is an intermediate CA that store lacks, so that
    HTTP.sys sends the whole chain (see Add-IntermediateCertificate).
#>

# DER object identifiers (content bytes, hex) of the key algorithms.
$script:OidRsaEncryption = '2A864886F70D010101'
$script:OidEcPublicKey = '2A8648CE3D0201'

function Get-PemBlock
{
    <#
    .SYNOPSIS
        Returns the PEM blocks of a text: label ("CERTIFICATE", "PRIVATE
        KEY", ...), DER bytes, and whether the block is encrypted.
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        # pscheck: checked callers pass certPath or keyPath
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $Field,

        [Parameter(Mandatory = $true)]
        [AllowEmptyString()]
        [System.String]
        $Text
    )

    $ErrorActionPreference = 'Stop'
    $blocks = New-Object -TypeName System.Collections.Generic.List[System.Object]
    $found = [System.Text.RegularExpressions.Regex]::Matches($Text, '-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----', [System.Text.RegularExpressions.RegexOptions]::Singleline)
    foreach ($match in $found)
    {
        $label = $match.Groups[1].Value
        $body = $match.Groups[2].Value
        $encrypted = $label -eq 'ENCRYPTED PRIVATE KEY' -or $body -match 'Proc-Type:'
        $base64 = (($body -split "`n") | Where-Object -FilterScript { $_ -notmatch ':' } | ForEach-Object -Process { $_.Trim() }) -join ''
        $der = $null
        if (-not $encrypted)
        {
            try
            {
                $der = [System.Convert]::FromBase64String($base64)
            }
            catch
            {
                New-NomadIisError -Kind InvalidArgument -Message ('{0}: the {1} block is not valid base64' -f $Field, $label)
            }
        }
        $blocks.Add([pscustomobject] @{ Label = $label; Bytes = $der; Encrypted = $encrypted })
    }
    return , $blocks.ToArray()
}

function Read-DerElement
{
    <#
    .SYNOPSIS
        Reads the DER tag and length at an offset: the tag, where the content
        starts and ends. Enough of DER for PKCS#1 and PKCS#8 keys.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.PSCustomObject])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Byte[]]
        $Bytes,

        [Parameter(Mandatory = $true)]
        [ValidateRange(0, 2147483647)]
        [System.Int32]
        $Offset
    )

    $ErrorActionPreference = 'Stop'
    if ($Offset + 2 -gt $Bytes.Length)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the private key is truncated'
    }
    $tag = $Bytes[$Offset]
    $first = [System.Int32] $Bytes[$Offset + 1]
    $position = $Offset + 2
    $length = 0
    if ($first -lt 0x80)
    {
        $length = $first
    }
    else
    {
        $count = $first -band 0x7F
        if ($count -eq 0 -or $count -gt 3 -or $position + $count -gt $Bytes.Length)
        {
            New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the private key is not DER encoded'
        }
        for ($i = 0; $i -lt $count; $i++)
        {
            $length = ($length * 256) + [System.Int32] $Bytes[$position]
            $position++
        }
    }
    if ($position + $length -gt $Bytes.Length)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the private key is truncated'
    }
    return [pscustomobject] @{ Tag = [System.Int32] $tag; Start = $position; End = $position + $length }
}

function Get-DerChild
{
    <#
    .SYNOPSIS
        Returns the elements inside a DER SEQUENCE (or other constructed
        element).
    #>
    [CmdletBinding()]
    [OutputType([System.Object[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Byte[]]
        $Bytes,

        [Parameter(Mandatory = $true)]
        [System.Management.Automation.PSCustomObject]
        $Element
    )

    $ErrorActionPreference = 'Stop'
    $children = New-Object -TypeName System.Collections.Generic.List[System.Object]
    $offset = $Element.Start
    while ($offset -lt $Element.End)
    {
        $child = Read-DerElement -Bytes $Bytes -Offset $offset
        $children.Add($child)
        $offset = $child.End
    }
    return , $children.ToArray()
}

function Get-DerContent
{
    <#
    .SYNOPSIS
        Returns the content bytes of a DER element.
    #>
    [CmdletBinding()]
    [OutputType([System.Byte[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Byte[]]
        $Bytes,

        [Parameter(Mandatory = $true)]
        [System.Management.Automation.PSCustomObject]
        $Element
    )

    $ErrorActionPreference = 'Stop'
    $content = New-Object -TypeName 'System.Byte[]' -ArgumentList ($Element.End - $Element.Start)
    [System.Array]::Copy($Bytes, $Element.Start, $content, 0, $content.Length)
    return , $content
}

function ConvertTo-UnsignedBytes
{
    <#
    .SYNOPSIS
        Turns a DER INTEGER's content into the big-endian unsigned bytes
        RSAParameters takes: leading zeros dropped, then left-padded to a
        length when one is given.
    #>
    [CmdletBinding()]
    [OutputType([System.Byte[]])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Byte[]]
        $Bytes,

        [Parameter()]
        [ValidateRange(0, 65536)]
        [System.Int32]
        $Length = 0
    )

    $ErrorActionPreference = 'Stop'
    if ($Bytes.Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the RSA private key is malformed (an empty INTEGER)'
    }
    $skip = 0
    while ($skip -lt $Bytes.Length - 1 -and $Bytes[$skip] -eq 0)
    {
        $skip++
    }
    $size = $Bytes.Length - $skip
    if ($Length -eq 0)
    {
        $Length = $size
    }
    if ($size -gt $Length)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the RSA private key is malformed'
    }
    $result = New-Object -TypeName 'System.Byte[]' -ArgumentList $Length
    [System.Array]::Copy($Bytes, $skip, $result, $Length - $size, $size)
    return , $result
}

function ConvertFrom-RsaPrivateKey
{
    <#
    .SYNOPSIS
        Decodes a PKCS#1 RSAPrivateKey into RSAParameters with the exact
        lengths the CryptoAPI provider requires.
    #>
    [CmdletBinding()]
    [OutputType([System.Security.Cryptography.RSAParameters])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Byte[]]
        $Der
    )

    $ErrorActionPreference = 'Stop'
    if ($Der.Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the RSA private key is empty'
    }
    $sequence = Read-DerElement -Bytes $Der -Offset 0
    $fields = Get-DerChild -Bytes $Der -Element $sequence
    if ($sequence.Tag -ne 0x30 -or $fields.Length -lt 9)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the RSA private key is malformed'
    }
    foreach ($field in $fields[0..8])
    {
        if ($field.Tag -ne 0x02)
        {
            New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the RSA private key is malformed'
        }
    }
    $modulus = ConvertTo-UnsignedBytes -Bytes (Get-DerContent -Bytes $Der -Element $fields[1])
    $half = [System.Int32] [System.Math]::Ceiling($modulus.Length / 2)
    $parameters = New-Object -TypeName System.Security.Cryptography.RSAParameters
    $parameters.Modulus = $modulus
    $parameters.Exponent = ConvertTo-UnsignedBytes -Bytes (Get-DerContent -Bytes $Der -Element $fields[2])
    $parameters.D = ConvertTo-UnsignedBytes -Bytes (Get-DerContent -Bytes $Der -Element $fields[3]) -Length $modulus.Length
    $parameters.P = ConvertTo-UnsignedBytes -Bytes (Get-DerContent -Bytes $Der -Element $fields[4]) -Length $half
    $parameters.Q = ConvertTo-UnsignedBytes -Bytes (Get-DerContent -Bytes $Der -Element $fields[5]) -Length $half
    $parameters.DP = ConvertTo-UnsignedBytes -Bytes (Get-DerContent -Bytes $Der -Element $fields[6]) -Length $half
    $parameters.DQ = ConvertTo-UnsignedBytes -Bytes (Get-DerContent -Bytes $Der -Element $fields[7]) -Length $half
    $parameters.InverseQ = ConvertTo-UnsignedBytes -Bytes (Get-DerContent -Bytes $Der -Element $fields[8]) -Length $half
    return $parameters
}

function Read-Pkcs8PrivateKey
{
    <#
    .SYNOPSIS
        Reads a PKCS#8 PrivateKeyInfo (version, AlgorithmIdentifier, OCTET
        STRING) and returns its algorithm OID as hex (Oid) and the wrapped
        private key bytes (PrivateKey); InvalidArgument when it is malformed,
        an AlgorithmIdentifier without an OID included.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.PSCustomObject])]
    param
    (
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Byte[]]
        $Bytes
    )

    $ErrorActionPreference = 'Stop'
    $info = Read-DerElement -Bytes $Bytes -Offset 0
    $parts = Get-DerChild -Bytes $Bytes -Element $info
    if ($info.Tag -ne 0x30 -or $parts.Length -lt 3 -or $parts[1].Tag -ne 0x30 -or $parts[2].Tag -ne 0x04)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the PKCS#8 private key is malformed'
    }
    $algorithm = Get-DerChild -Bytes $Bytes -Element $parts[1]
    if ($algorithm.Length -lt 1 -or $algorithm[0].Tag -ne 0x06)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the PKCS#8 private key is malformed'
    }
    return [pscustomobject] @{
        Oid        = [System.BitConverter]::ToString((Get-DerContent -Bytes $Bytes -Element $algorithm[0])).Replace('-', '')
        PrivateKey = Get-DerContent -Bytes $Bytes -Element $parts[2]
    }
}

function Get-RsaKeyFromPem
{
    <#
    .SYNOPSIS
        Finds the first unencrypted private key block of a PEM text and
        returns its PKCS#1 RSAPrivateKey bytes; InvalidArgument for encrypted
        keys, and for EC keys (an RSA certificate needs an RSA key).
    #>
    [CmdletBinding()]
    [OutputType([System.Byte[]])]
    param
    (
        # A key file without a PEM block gives no blocks: the function's
        # own InvalidArgument says so, not the binder's Internal error.
        # pscheck: checked blocks Get-PemBlock built, never $null
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Blocks
    )

    $ErrorActionPreference = 'Stop'
    foreach ($block in $Blocks)
    {
        if ($block.Label -notmatch 'PRIVATE KEY$')
        {
            continue
        }
        if ($block.Encrypted)
        {
            New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the private key is encrypted; give an unencrypted key or a PFX file with its password'
        }
        if ($block.Label -eq 'RSA PRIVATE KEY')
        {
            return , $block.Bytes
        }
        if ($block.Label -eq 'EC PRIVATE KEY')
        {
            New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the private key is an EC key, but the certificate has an RSA public key'
        }
        if ($block.Label -eq 'PRIVATE KEY')
        {
            $info = Read-Pkcs8PrivateKey -Bytes $block.Bytes
            if ($info.Oid -eq $script:OidEcPublicKey)
            {
                New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the private key is an EC key, but the certificate has an RSA public key'
            }
            if ($info.Oid -ne $script:OidRsaEncryption)
            {
                New-NomadIisError -Kind InvalidArgument -Message 'keyPath: unsupported key algorithm (Windows TLS takes RSA and ECDSA keys)'
            }
            return , $info.PrivateKey
        }
    }
    New-NomadIisError -Kind InvalidArgument -Message 'keyPath: no unencrypted PEM private key found (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)'
}

function Get-EcKeyFromPem
{
    <#
    .SYNOPSIS
        Finds the first unencrypted EC private key block of a PEM text (SEC1
        "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY" with id-ecPublicKey) and
        returns its private scalar, the big-endian bytes of d.
    #>
    [CmdletBinding()]
    [OutputType([System.Byte[]])]
    param
    (
        # pscheck: checked blocks Get-PemBlock built, never $null
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Object[]]
        $Blocks
    )

    $ErrorActionPreference = 'Stop'
    foreach ($block in $Blocks)
    {
        if ($block.Label -notmatch 'PRIVATE KEY$')
        {
            continue
        }
        if ($block.Encrypted)
        {
            New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the private key is encrypted; give an unencrypted key or a PFX file with its password'
        }
        $der = $null
        if ($block.Label -eq 'EC PRIVATE KEY')
        {
            $der = $block.Bytes
        }
        elseif ($block.Label -eq 'PRIVATE KEY')
        {
            $info = Read-Pkcs8PrivateKey -Bytes $block.Bytes
            if ($info.Oid -ne $script:OidEcPublicKey)
            {
                New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the private key is not an EC key, but the certificate has an EC public key'
            }
            $der = $info.PrivateKey
        }
        else
        {
            continue
        }
        # SEC1 ECPrivateKey: version 1, privateKey OCTET STRING, then the
        # optional curve and public key, which the certificate provides.
        $sequence = Read-DerElement -Bytes $der -Offset 0
        $fields = Get-DerChild -Bytes $der -Element $sequence
        if ($sequence.Tag -ne 0x30 -or $fields.Length -lt 2 -or $fields[0].Tag -ne 0x02 -or $fields[1].Tag -ne 0x04 -or $fields[1].End -eq $fields[1].Start)
        {
            New-NomadIisError -Kind InvalidArgument -Message 'keyPath: the EC private key is malformed'
        }
        return , (Get-DerContent -Bytes $der -Element $fields[1])
    }
    New-NomadIisError -Kind InvalidArgument -Message 'keyPath: no unencrypted PEM private key found (PRIVATE KEY or EC PRIVATE KEY)'
}

function ConvertTo-EcPkcs12
{
    <#
    .SYNOPSIS
        Pairs a certificate that has an EC public key with its PEM private
        key on Windows PowerShell 5.1 and returns the pair as PKCS#12 bytes
        in memory with their one-time password, for Import-PfxBytes.
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.PSCustomObject])]
    param
    (
        [Parameter(Mandatory = $true)]
        [System.Security.Cryptography.X509Certificates.X509Certificate2]
        $Certificate,

        # pscheck: checked blocks Get-PemBlock built, never $null
        [Parameter(Mandatory = $true)]
        [AllowEmptyCollection()]
        [System.Object[]]
        $KeyBlocks
    )

    $ErrorActionPreference = 'Stop'
    $scalar = Get-EcKeyFromPem -Blocks $KeyBlocks
    $public = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPublicKey($Certificate)
    if ($null -eq $public)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'certPath: the certificate does not have an ECDSA key'
    }
    # The curve and public point come from the certificate; d from the key.
    $parameters = $public.ExportParameters($false)
    $parameters.D = ConvertTo-UnsignedBytes -Bytes $scalar -Length $parameters.Q.X.Length
    try
    {
        $key = [System.Security.Cryptography.ECDsa]::Create($parameters)
    }
    catch
    {
        New-NomadIisError -Kind InvalidArgument -Message ("keyPath: the EC private key does not fit the certificate '{0}': {1}" -f $Certificate.Subject, (Get-InnermostMessage -ErrorRecord $_))
    }
    try
    {
        # The key belongs to the certificate when what it signs verifies
        # with the certificate's public key.
        $probe = [System.Text.Encoding]::ASCII.GetBytes('nomad-iis key check')
        $signature = $key.SignData($probe, [System.Security.Cryptography.HashAlgorithmName]::SHA256)
        if (-not $public.VerifyData($probe, $signature, [System.Security.Cryptography.HashAlgorithmName]::SHA256))
        {
            New-NomadIisError -Kind InvalidArgument -Message ("keyPath: the private key does not belong to the certificate '{0}'" -f $Certificate.Subject)
        }
        $transportPassword = [System.Guid]::NewGuid().ToString('N')
        try
        {
            $withKey = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::CopyWithPrivateKey($Certificate, $key)
            $pfx = $withKey.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pkcs12, $transportPassword)
        }
        catch
        {
            New-NomadIisError -Kind InvalidArgument -Message ('keyPath: the EC key cannot be imported on Windows PowerShell 5.1 ({0}); give a PFX file or use PowerShell 7 (pwsh) as the backend' -f (Get-InnermostMessage -ErrorRecord $_))
        }
    }
    finally
    {
        $key.Dispose()
    }
    return [pscustomobject] @{ Bytes = $pfx; Password = $transportPassword }
}

function Import-PemCertificate
{
    <#
    .SYNOPSIS
        Imports a PEM certificate (the first CERTIFICATE block; the
        intermediates of a chain that follows go to LocalMachine\CA) and its
        PEM private key into LocalMachine\My, marked as
        managed. See the notes at the top of this file for how.
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param
    (
        # pscheck: checked Import-NomadIisCertificate refuses an empty certPath first
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $CertPath,

        # pscheck: checked Import-NomadIisCertificate refuses an empty keyPath first
        [Parameter(Mandatory = $true)]
        [ValidateNotNullOrEmpty()]
        [System.String]
        $KeyPath
    )

    $ErrorActionPreference = 'Stop'
    $certText = [System.Text.Encoding]::ASCII.GetString((Read-CertificateFile -Field 'certPath' -Path $CertPath))
    $keyText = [System.Text.Encoding]::ASCII.GetString((Read-CertificateFile -Field 'keyPath' -Path $KeyPath))
    $certificateFileBlocks = Get-PemBlock -Field 'certPath' -Text $certText
    $certificateBlocks = @($certificateFileBlocks | Where-Object -FilterScript { $_.Label -eq 'CERTIFICATE' })
    if ($certificateBlocks.Length -eq 0)
    {
        New-NomadIisError -Kind InvalidArgument -Message 'certPath: no PEM CERTIFICATE block found'
    }
    try
    {
        $certificate = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList @(, $certificateBlocks[0].Bytes)
    }
    catch
    {
        New-NomadIisError -Kind InvalidArgument -Message ('certPath: the first certificate cannot be read: {0}' -f (Get-InnermostMessage -ErrorRecord $_))
    }
    $chain = New-Object -TypeName 'System.Collections.Generic.List[System.Byte[]]'
    foreach ($block in $certificateBlocks)
    {
        $chain.Add($block.Bytes)
    }
    # Checked now, added once the key was found to belong to the certificate.
    $intermediates = Select-IntermediateCertificate -Field 'certPath' -Certificates $chain -LeafThumbprint $certificate.Thumbprint.ToUpperInvariant()
    $existing = Get-StoreCertificate -Thumbprint $certificate.Thumbprint.ToUpperInvariant()
    if ($null -ne $existing)
    {
        $null = Add-IntermediateCertificate -Certificates $intermediates
        return ConvertTo-CertificateResult -Certificate $existing -AlreadyPresent $true
    }

    $fromPemFile = [System.Security.Cryptography.X509Certificates.X509Certificate2].GetMethod('CreateFromPemFile', [System.Type[]] @([System.String], [System.String]))
    if ($null -ne $fromPemFile)
    {
        # PowerShell 7: .NET reads every PEM key form. Its key is ephemeral,
        # so the pair travels through PKCS#12 in memory to be persisted.
        try
        {
            $withKey = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPemFile($CertPath, $KeyPath)
        }
        catch
        {
            New-NomadIisError -Kind InvalidArgument -Message ('keyPath: the key cannot be read or does not belong to the certificate: {0}' -f (Get-InnermostMessage -ErrorRecord $_))
        }
        $transportPassword = [System.Guid]::NewGuid().ToString('N')
        $pfx = $withKey.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pkcs12, $transportPassword)
        $null = Add-IntermediateCertificate -Certificates $intermediates
        return Import-PfxBytes -Bytes $pfx -Password $transportPassword -Source 'certPath'
    }

    $keyBlocks = Get-PemBlock -Field 'keyPath' -Text $keyText
    # Windows PowerShell 5.1: EC keys through PKCS#12 in memory.
    if ($certificate.PublicKey.Oid.Value -eq '1.2.840.10045.2.1')
    {
        $pkcs12 = ConvertTo-EcPkcs12 -Certificate $certificate -KeyBlocks $keyBlocks
        $null = Add-IntermediateCertificate -Certificates $intermediates
        return Import-PfxBytes -Bytes $pkcs12.Bytes -Password $pkcs12.Password -Source 'certPath'
    }
    # RSA keys into a persisted CryptoAPI container.
    if ($certificate.PublicKey.Oid.Value -ne '1.2.840.113549.1.1.1')
    {
        New-NomadIisError -Kind InvalidArgument -Message 'certPath: the certificate has neither an RSA nor an EC key'
    }
    $parameters = ConvertFrom-RsaPrivateKey -Der (Get-RsaKeyFromPem -Blocks $keyBlocks)
    $publicModulus = ConvertTo-UnsignedBytes -Bytes ($certificate.PublicKey.Key.ExportParameters($false).Modulus)
    if ([System.BitConverter]::ToString($publicModulus) -ne [System.BitConverter]::ToString($parameters.Modulus))
    {
        New-NomadIisError -Kind InvalidArgument -Message ("keyPath: the private key does not belong to the certificate '{0}'" -f $certificate.Subject)
    }
    $null = Add-IntermediateCertificate -Certificates $intermediates

    $cspParameters = New-Object -TypeName System.Security.Cryptography.CspParameters -ArgumentList 24, 'Microsoft Enhanced RSA and AES Cryptographic Provider', ('nomad-iis-' + [System.Guid]::NewGuid().ToString('N'))
    $cspParameters.Flags = [System.Security.Cryptography.CspProviderFlags]::UseMachineKeyStore
    # AT_KEYEXCHANGE: Schannel uses the key for the TLS key exchange.
    $cspParameters.KeyNumber = 1
    $rsa = New-Object -TypeName System.Security.Cryptography.RSACryptoServiceProvider -ArgumentList $cspParameters
    $added = $false
    try
    {
        $rsa.PersistKeyInCsp = $true
        $rsa.ImportParameters($parameters)
        $certificate.PrivateKey = $rsa
        Add-ManagedCertificate -Certificate $certificate
        $added = $true
    }
    finally
    {
        if (-not $added)
        {
            $rsa.PersistKeyInCsp = $false
            $rsa.Clear()
        }
    }
    return ConvertTo-CertificateResult -Certificate $certificate -AlreadyPresent $false
}
