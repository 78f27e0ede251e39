#Requires -Version 5.1
<#
    Pester 5 tests of the PEM and DER reading in NomadIis.Pem.ps1 and of
    the chain handling in NomadIis.Certificate.ps1. The keys below were
    made for these tests only (1024-bit RSA, P-256) and protect nothing.
#>

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '..\NomadIis.psm1') -Force -DisableNameChecking

    $script:RsaPkcs1 = @'
-----BEGIN RSA PRIVATE KEY-----
MIICXQIBAAKBgQDer2yJhO1BQ2B9vgj5x3MK8Jdlx+Qa4iCYhVAhtTY04FyosKcY
8jMJgZUMK1VJyqcbu8DB4VvRvTgsVRGrJuTyEF9e1JOYL8DnPZJiOZv+nHwQgnwD
f86dDRx5OOVggaLO0DeOaikTEVfvkQt4Ju/pbG8fe+jzTBK/Zq2AUUhEVwIDAQAB
AoGBAJ3eJYcUmpJi7rwWBgz17cP6roo0fKzmVI9sK1PKQQSZbncUzVFtGuuJVx4K
dmta5L9PiqaoWkzF5VXgdSct6q2yVEDSwJ/ieTwfAOrN32AGHFrv5HQuEXPfMO79
GRi9u4rcZkda4XtlHm1jxWvKacj9fuos6gxHsE025dIOoGtJAkEA96/pRDldsWra
JywTG6eFp9wNtlFNFtYR2akS0iyPj/nyj3/P4te55Nr7ZOd9Gcfan+onoMXCyyWL
caWsqxOIiwJBAOYos0xAfkhPWQIpRTYQ09cd7j5uV4OUp0Ecc4U4JGCXQK2nt468
MPEletMcbcrhCYeg4M2ZIUDeoSoJW9kxYOUCQDzMYm8LwdLmDqyk5f/YzDcbDgad
yFV9sJ4EIYmTxJ2r1f2hew8MsyXZFvJ63Dty0liEqruNL7ab/bGk4FCSF+cCQQDF
zObCuo6NEHxbaiKMI4wbzSJKT0Qw1hmj0JLLRAOna3XviDstlTiullpngoAtIpex
EycAKwE0IeD6Io7oKxKtAkAkDnckY2YaH4IRra/7HVCfqSIlRdS8wcg9WuM/YnuF
j4AN9+Y7dMvnP9Kc8dhXycXhlpWJSVRabxl+UGkTDNYF
-----END RSA PRIVATE KEY-----
'@
    $script:RsaPkcs8 = @'
-----BEGIN PRIVATE KEY-----
MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAN6vbImE7UFDYH2+
CPnHcwrwl2XH5BriIJiFUCG1NjTgXKiwpxjyMwmBlQwrVUnKpxu7wMHhW9G9OCxV
Easm5PIQX17Uk5gvwOc9kmI5m/6cfBCCfAN/zp0NHHk45WCBos7QN45qKRMRV++R
C3gm7+lsbx976PNMEr9mrYBRSERXAgMBAAECgYEAnd4lhxSakmLuvBYGDPXtw/qu
ijR8rOZUj2wrU8pBBJludxTNUW0a64lXHgp2a1rkv0+KpqhaTMXlVeB1Jy3qrbJU
QNLAn+J5PB8A6s3fYAYcWu/kdC4Rc98w7v0ZGL27itxmR1rhe2UebWPFa8ppyP1+
6izqDEewTTbl0g6ga0kCQQD3r+lEOV2xatonLBMbp4Wn3A22UU0W1hHZqRLSLI+P
+fKPf8/i17nk2vtk530Zx9qf6iegxcLLJYtxpayrE4iLAkEA5iizTEB+SE9ZAilF
NhDT1x3uPm5Xg5SnQRxzhTgkYJdArae3jrww8SV60xxtyuEJh6DgzZkhQN6hKglb
2TFg5QJAPMxibwvB0uYOrKTl/9jMNxsOBp3IVX2wngQhiZPEnavV/aF7DwyzJdkW
8nrcO3LSWISqu40vtpv9saTgUJIX5wJBAMXM5sK6jo0QfFtqIowjjBvNIkpPRDDW
GaPQkstEA6drde+IOy2VOK6WWmeCgC0il7ETJwArATQh4PoijugrEq0CQCQOdyRj
ZhofghGtr/sdUJ+pIiVF1LzByD1a4z9ie4WPgA335jt0y+c/0pzx2FfJxeGWlYlJ
VFpvGX5QaRMM1gU=
-----END PRIVATE KEY-----
'@
    $script:EcSec1 = @'
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEINLLkbj68CrwBxNDNJV2EuQF8iiRQ+ksrqF6Zd39ZK9uoAoGCCqGSM49
AwEHoUQDQgAEZ5mLEd12277J+eFqkeQkd/F8Q91dZHwSD/k2GEG9QC0QTzYrlXa2
IknPgYl0ODl2o8TeP9zxPdOSfVrbXb9iSg==
-----END EC PRIVATE KEY-----
'@
    $script:EcPkcs8 = @'
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0suRuPrwKvAHE0M0
lXYS5AXyKJFD6SyuoXpl3f1kr26hRANCAARnmYsR3Xbbvsn54WqR5CR38XxD3V1k
fBIP+TYYQb1ALRBPNiuVdrYiSc+BiXQ4OXajxN4/3PE905J9Wttdv2JK
-----END PRIVATE KEY-----
'@
    # openssl ec -text of the EC key above: its private scalar d.
    $script:EcScalar = 'D2CB91B8FAF02AF007134334957612E405F2289143E92CAEA17A65DDFD64AF6E'
    # openssl rsa -noout -modulus of the key above.
    $script:Modulus = 'DEAF6C8984ED4143607DBE08F9C7730AF09765C7E41AE22098855021B53634E05CA8B0A718F2330981950C2B5549CAA71BBBC0C1E15BD1BD382C5511AB26E4F2105F5ED493982FC0E73D9262399BFE9C7C10827C037FCE9D0D1C7938E56081A2CED0378E6A29131157EF910B7826EFE96C6F1F7BE8F34C12BF66AD8051484457'
}

AfterAll {
    Remove-Module -Name 'NomadIis' -Force -ErrorAction SilentlyContinue
}

Describe 'Get-PemBlock' {
    It 'finds the label and the DER bytes of a block' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Text = $script:RsaPkcs8 } -ScriptBlock {
            param ($Text)
            $blocks = Get-PemBlock -Field 'keyPath' -Text $Text
            $blocks.Length | Should -Be 1
            $blocks[0].Label | Should -BeExactly 'PRIVATE KEY'
            $blocks[0].Encrypted | Should -BeFalse
            $blocks[0].Bytes[0] | Should -Be 0x30
        }
    }

    It 'returns no block for a text without PEM' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            @(Get-PemBlock -Field 'keyPath' -Text 'not a key').Length | Should -Be 0
        }
    }
}

Describe 'Get-RsaKeyFromPem and ConvertFrom-RsaPrivateKey' {
    It 'reads the modulus of a <Form> key' -TestCases @(
        @{ Form = 'PKCS#1'; Name = 'RsaPkcs1' }
        @{ Form = 'PKCS#8'; Name = 'RsaPkcs8' }
    ) {
        $text = @{ RsaPkcs1 = $script:RsaPkcs1; RsaPkcs8 = $script:RsaPkcs8 }[$Name]
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Text = $text; Modulus = $script:Modulus } -ScriptBlock {
            param ($Text, $Modulus)
            $blocks = Get-PemBlock -Field 'keyPath' -Text $Text
            $parameters = ConvertFrom-RsaPrivateKey -Der (Get-RsaKeyFromPem -Blocks $blocks)
            [System.BitConverter]::ToString($parameters.Modulus).Replace('-', '') | Should -BeExactly $Modulus
            $parameters.Exponent.Length | Should -Be 3
            $parameters.D.Length | Should -Be $parameters.Modulus.Length
            $parameters.P.Length | Should -Be ($parameters.Modulus.Length / 2)
            # CryptoAPI takes the parameters only when every length is right.
            $rsa = New-Object -TypeName System.Security.Cryptography.RSACryptoServiceProvider
            try
            {
                { $rsa.ImportParameters($parameters) } | Should -Not -Throw
            }
            finally
            {
                $rsa.Clear()
            }
        }
    }

    It 'refuses a key file without a PEM block with InvalidArgument naming keyPath' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            { Get-RsaKeyFromPem -Blocks @() } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'keyPath: no unencrypted PEM private key found*'
        }
    }

    It 'refuses an EC key for an RSA certificate, saying why' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Text = $script:EcPkcs8 } -ScriptBlock {
            param ($Text)
            { Get-RsaKeyFromPem -Blocks (Get-PemBlock -Field 'keyPath' -Text $Text) } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'keyPath: the private key is an EC key, but the certificate has an RSA public key'
        }
    }

    It 'refuses an encrypted key' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $text = "-----BEGIN ENCRYPTED PRIVATE KEY-----`nMIIBAA==`n-----END ENCRYPTED PRIVATE KEY-----"
            { Get-RsaKeyFromPem -Blocks (Get-PemBlock -Field 'keyPath' -Text $text) } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'keyPath: the private key is encrypted*'
        }
    }
}

Describe 'Get-EcKeyFromPem' {
    It 'reads the private scalar of a <Form> key' -TestCases @(
        @{ Form = 'SEC1'; Name = 'EcSec1' }
        @{ Form = 'PKCS#8'; Name = 'EcPkcs8' }
    ) {
        $text = @{ EcSec1 = $script:EcSec1; EcPkcs8 = $script:EcPkcs8 }[$Name]
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Text = $text; Scalar = $script:EcScalar } -ScriptBlock {
            param ($Text, $Scalar)
            $d = Get-EcKeyFromPem -Blocks (Get-PemBlock -Field 'keyPath' -Text $Text)
            [System.BitConverter]::ToString($d).Replace('-', '') | Should -BeExactly $Scalar
        }
    }

    It 'refuses an RSA key for an EC certificate' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Text = $script:RsaPkcs8 } -ScriptBlock {
            param ($Text)
            { Get-EcKeyFromPem -Blocks (Get-PemBlock -Field 'keyPath' -Text $Text) } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'keyPath: the private key is not an EC key*'
        }
    }

    It 'refuses a key file without a PEM block' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            { Get-EcKeyFromPem -Blocks @() } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'keyPath: no unencrypted PEM private key found*'
        }
    }
}

Describe 'DER reading' {
    It 'refuses an empty INTEGER with InvalidArgument, not a binding error' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            { ConvertTo-UnsignedBytes -Bytes ([System.Byte[]] @()) } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'keyPath: *'
            { ConvertFrom-RsaPrivateKey -Der ([System.Byte[]] @()) } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'keyPath: *'
        }
    }

    It 'drops leading zeros and pads to a length' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $bytes = ConvertTo-UnsignedBytes -Bytes ([System.Byte[]] @(0, 0x80, 1)) -Length 4
            [System.BitConverter]::ToString($bytes) | Should -BeExactly '00-00-80-01'
        }
    }

    It 'refuses a truncated element' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            { Read-DerElement -Bytes ([System.Byte[]] @(0x30, 0x05, 0x02)) -Offset 0 } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'keyPath: the private key is truncated'
        }
    }

    It 'refuses a PKCS#8 key whose AlgorithmIdentifier has no OID with InvalidArgument, not a binding error' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            # SEQUENCE { INTEGER 0, SEQUENCE {}, OCTET STRING 30 00 }
            $der = [System.Byte[]] @(0x30, 0x09, 0x02, 0x01, 0x00, 0x30, 0x00, 0x04, 0x02, 0x30, 0x00)
            { Read-Pkcs8PrivateKey -Bytes $der } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'keyPath: the PKCS#8 private key is malformed'
        }
    }
}

Describe 'Select-IntermediateCertificate and Add-IntermediateCertificate' {
    BeforeAll {
        # A root, an intermediate CA it signed, and a leaf the intermediate
        # signed (CertificateRequest is in .NET Framework 4.7.2 and later).
        function New-TestCertificate
        {
            param ([System.String] $Subject, [System.Boolean] $Authority, [System.Object] $Issuer)
            $key = New-Object -TypeName System.Security.Cryptography.RSACng -ArgumentList 2048
            $request = New-Object -TypeName System.Security.Cryptography.X509Certificates.CertificateRequest -ArgumentList $Subject, $key, ([System.Security.Cryptography.HashAlgorithmName]::SHA256), ([System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
            $request.CertificateExtensions.Add((New-Object -TypeName System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension -ArgumentList $Authority, $false, 0, $true))
            $from = [System.DateTimeOffset]::UtcNow.AddDays(-1)
            $until = [System.DateTimeOffset]::UtcNow.AddDays(2)
            if ($null -eq $Issuer)
            {
                return $request.CreateSelfSigned($from, $until)
            }
            $serial = [System.Guid]::NewGuid().ToByteArray()
            return [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::CopyWithPrivateKey($request.Create($Issuer, $from, $until, $serial), $key)
        }
        $script:Root = New-TestCertificate -Subject 'CN=nomad-iis test root' -Authority $true -Issuer $null
        $script:Intermediate = New-TestCertificate -Subject 'CN=nomad-iis test intermediate' -Authority $true -Issuer $script:Root
        $script:Leaf = New-TestCertificate -Subject 'CN=leaf.example.test' -Authority $false -Issuer $script:Intermediate
    }

    AfterAll {
        $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList ([System.Security.Cryptography.X509Certificates.StoreName]::CertificateAuthority), ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
        $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite)
        try
        {
            foreach ($found in $store.Certificates.Find([System.Security.Cryptography.X509Certificates.X509FindType]::FindByThumbprint, $script:Intermediate.Thumbprint, $false))
            {
                $store.Remove($found)
            }
        }
        finally
        {
            $store.Close()
        }
    }

    It 'selects the intermediate CA only: not the leaf, not a self-signed root' {
        $chain = New-Object -TypeName 'System.Collections.Generic.List[System.Byte[]]'
        foreach ($certificate in @($script:Leaf, $script:Intermediate, $script:Root))
        {
            $chain.Add($certificate.RawData)
        }
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Chain = $chain; Leaf = $script:Leaf.Thumbprint; Intermediate = $script:Intermediate.Thumbprint } -ScriptBlock {
            param ($Chain, $Leaf, $Intermediate)
            $selected = Select-IntermediateCertificate -Field 'pfxPath' -Certificates $Chain -LeafThumbprint $Leaf
            @($selected).Length | Should -Be 1
            $selected[0].Thumbprint | Should -BeExactly $Intermediate
            Add-IntermediateCertificate -Certificates @() | Should -Be 0
        }
    }

    It 'adds the intermediate CA to LocalMachine\CA once' {
        $chain = New-Object -TypeName 'System.Collections.Generic.List[System.Byte[]]'
        foreach ($certificate in @($script:Leaf, $script:Intermediate, $script:Root))
        {
            $chain.Add($certificate.RawData)
        }
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Chain = $chain; Leaf = $script:Leaf.Thumbprint } -ScriptBlock {
            param ($Chain, $Leaf)
            $selected = Select-IntermediateCertificate -Field 'pfxPath' -Certificates $Chain -LeafThumbprint $Leaf
            Add-IntermediateCertificate -Certificates $selected | Should -Be 1
            Add-IntermediateCertificate -Certificates $selected | Should -Be 0
        }
        $store = New-Object -TypeName System.Security.Cryptography.X509Certificates.X509Store -ArgumentList ([System.Security.Cryptography.X509Certificates.StoreName]::CertificateAuthority), ([System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine)
        $store.Open([System.Security.Cryptography.X509Certificates.OpenFlags]::ReadOnly)
        try
        {
            $found = $store.Certificates.Find([System.Security.Cryptography.X509Certificates.X509FindType]::FindByThumbprint, $script:Intermediate.Thumbprint, $false)
            $found.Count | Should -Be 1
            $found[0].HasPrivateKey | Should -BeFalse
        }
        finally
        {
            $store.Close()
        }
    }

    It 'refuses bytes that are not a certificate, naming the field' {
        $chain = New-Object -TypeName 'System.Collections.Generic.List[System.Byte[]]'
        $chain.Add([System.Byte[]] @(1, 2, 3))
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Chain = $chain; Leaf = $script:Leaf.Thumbprint } -ScriptBlock {
            param ($Chain, $Leaf)
            { Select-IntermediateCertificate -Field 'certPath' -Certificates $Chain -LeafThumbprint $Leaf } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'certPath: certificate 1 of the chain cannot be read*'
        }
    }
}
